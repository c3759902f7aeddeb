/**
 * How much of a record's text a file source's dead-letter entry holds (no imports: the CSV range
 * threads use it too, and start faster without the rest).
 */

/** The most characters of a record's text an entry holds (`record`; longer text ends with `…`). */
export const RECORD_TEXT_CHARS = 4096

/** The text of a record as an entry holds it: cut to {@link RECORD_TEXT_CHARS} characters. */
export const recordText = (text: string): string => (text.length > RECORD_TEXT_CHARS ? `${text.slice(0, RECORD_TEXT_CHARS)}…` : text)
