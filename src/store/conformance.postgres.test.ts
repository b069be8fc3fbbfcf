/** The store conformance suite (conformance/suite.ts) against the postgres adapter. */
import { registerConformance } from './conformance/suite.ts';

registerConformance('postgres');
