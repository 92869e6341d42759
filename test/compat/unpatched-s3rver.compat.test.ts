/** The listing scenarios against the unpatched @20minutes/s3rver (listing.ts, unpatched-s3rver-main.ts). */
import { defineListingCompat } from './suite';

defineListingCompat('unpatched-s3rver');
