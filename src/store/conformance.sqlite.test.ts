/** The store conformance suite (conformance/suite.ts) against the sqlite adapter. */
import { registerConformance } from './conformance/suite.ts';

registerConformance('sqlite');
