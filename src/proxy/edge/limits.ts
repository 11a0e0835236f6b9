/**
 * The limits of baton's edge, the same on both data paths (and documented in
 * docs/reliability.md). A request past any of them is answered 431.
 */

/**
 * The largest request head, counted on its canonical form (`method SP target SP
 * version CRLF`, each field as `name:value CRLF` with the value's surrounding
 * whitespace trimmed, the blank line), so that both data paths, which see the head in
 * different shapes, count it the same. 16 KiB is node:http's default `maxHeaderSize`.
 */
export const MAX_HEAD_BYTES = 16 * 1024;

/** The most field lines a request head may have (node:http's default took 1000 too). */
export const MAX_FIELDS = 1000;

/**
 * How many raw bytes of a head are read before it is refused unseen: the canonical
 * count above leaves out optional whitespace, so the raw head may be longer. node:http
 * is given this as its `maxHeaderSize`, so that it never cuts a head the rules accept.
 */
export const MAX_RAW_HEAD_BYTES = 64 * 1024;
