// Types for the parts of mailauth 4.13.3 that Postern's DKIM tests compare the signer with (the
// package ships no declarations for them). Only what is called is declared.
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
  export function formatRelaxedLine(line: Buffer, suffix?: string): Buffer;
  export const defaultDKIMFieldNames: string;
  const tools: {
    parseHeaders: typeof parseHeaders;
    getSigningHeaderLines: typeof getSigningHeaderLines;
    formatSignatureHeaderLine: typeof formatSignatureHeaderLine;
    formatRelaxedLine: typeof formatRelaxedLine;
    defaultDKIMFieldNames: string;
  };
  export default tools;
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
