// Types for the parts of mailauth 4.13.3 that Postern's DKIM signer uses (the package ships no
// declarations for them). Only what is called is declared.
declare module 'mailauth/lib/tools.js' {
  export interface ParsedHeader {
    key: string | null;
    casedKey: string | undefined;
    line: Buffer;
  }
  export function parseHeaders(buf: Buffer): { parsed: ParsedHeader[]; original: Buffer };
  export function getSigningHeaderLines(
    parsed: ParsedHeader[],
    fieldNames?: string | false,
    verify?: boolean,
  ): { keys: string; headers: ParsedHeader[] };
  export function formatSignatureHeaderLine(type: 'DKIM' | 'ARC' | 'AS', values: Record<string, unknown>, folded?: boolean): string;
  export const defaultDKIMFieldNames: string;
  const tools: {
    parseHeaders: typeof parseHeaders;
    getSigningHeaderLines: typeof getSigningHeaderLines;
    formatSignatureHeaderLine: typeof formatSignatureHeaderLine;
    defaultDKIMFieldNames: string;
  };
  export default tools;
}

declare module 'mailauth/lib/dkim/header/relaxed.js' {
  import type { ParsedHeader } from 'mailauth/lib/tools.js';
  export function relaxedHeaders(
    type: 'DKIM',
    signingHeaderLines: { keys: string; headers: ParsedHeader[] },
    options: { signingDomain: string; selector: string; algorithm: string; canonicalization: string; bodyHash: string; signTime?: Date },
  ): { canonicalizedHeader: Buffer; signatureHeaderLine: string; dkimHeaderOpts: Record<string, unknown> };
  const relaxed: { relaxedHeaders: typeof relaxedHeaders };
  export default relaxed;
}

declare module 'mailauth/lib/dkim/body/index.js' {
  export interface BodyHasher {
    update(chunk: Buffer | null, final?: boolean): void;
    digest(encoding: 'base64'): string;
  }
  export function dkimBody(canonicalization: string, algorithm: string, maxBodyLength?: number): BodyHasher;
  const body: { dkimBody: typeof dkimBody };
  export default body;
}
