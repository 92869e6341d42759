/** The compatibility suite against moto (suite.ts). */
import { defineCompatSuite } from './suite';

defineCompatSuite('moto');
