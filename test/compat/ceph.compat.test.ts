/** The compatibility suite against ceph (suite.ts). */
import { defineCompatSuite } from './suite';

defineCompatSuite('ceph');
