/**
 * Text the CLI prints that comes from a workflow or its data (node ids, file names, field values
 * inside error messages) is shown with its control characters escaped, so an escape sequence in
 * a CSV field cannot recolour, move or erase what the terminal shows, and a line feed or carriage
 * return inside a value cannot forge or hide a line of output.
 */

const names: { readonly [c: string]: string } = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/**
 * `text` with every C0 control character, DEL and C1 control character written as an escape:
 * `\n`, `\r`, `\t`, else `\xNN` (`\x1b` for ESC). Everything else is kept as it is.
 */
export const escapeControl = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => names[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

/** Each line of a multi-line text escaped on its own (the line feeds between them kept). */
export const escapeLines = (text: string): string => text.split("\n").map(escapeControl).join("\n")
