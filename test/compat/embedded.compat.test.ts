/** The compatibility suite against embedded (suite.ts). */
import { defineCompatSuite } from './suite';

defineCompatSuite('embedded');
