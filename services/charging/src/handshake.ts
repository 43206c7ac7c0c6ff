/**
 * What the central system checks in a pile's upgrade request before ocpp-rpc sees it. ocpp-rpc
 * 2.2.1 decodes the identity outside its own error handling, so a request such as
 * `/ocpp/%E0%A4%A` rejected its handleUpgrade promise and ended the process; the library is
 * given only requests whose target it can read.
 */

/** OCPP-J: the identity is the last path segment, at most 48 characters of identifierString. */
const IDENTITY = /^[A-Za-z0-9*_=:+|@.-]{1,48}$/;

export type HandshakeRefusal = { status: 400 | 404; message: string };

/** RFC 7230 token, the syntax of each Sec-WebSocket-Protocol entry. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Why an upgrade is refused, or undefined when it names a charge point and its subprotocol list
 * can be read (ocpp-rpc answers an unreadable list with a 500).
 */
export function handshakeRefusal(target: string | undefined, protocols: string | undefined, ocppPath: string): HandshakeRefusal | undefined {
  const path = (target ?? '').split('?')[0]!;
  if (!path.startsWith(`${ocppPath}/`)) return { status: 404, message: 'Not found' };
  const segment = path.slice(ocppPath.length + 1);
  if (segment === '' || segment.includes('/')) return { status: 404, message: 'Not found' };
  let identity: string;
  try {
    identity = decodeURIComponent(segment);
  } catch {
    return { status: 400, message: 'The charge point identity is not valid percent-encoding' };
  }
  if (!IDENTITY.test(identity)) return { status: 400, message: 'The charge point identity must be 1 to 48 characters of A-Z a-z 0-9 * - _ = : + | @ .' };
  if (protocols !== undefined) {
    const list = protocols.split(',').map((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''));
    if (!list.every((p) => TOKEN.test(p)) || new Set(list).size !== list.length)
      return { status: 400, message: 'Sec-WebSocket-Protocol must be a list of distinct tokens' };
  }
  return undefined;
}
