/**
 * Text the CLI prints that comes from a workflow or its data (node ids, file names, values inside
 * messages) is shown with its control characters escaped (`Errors.escapeControl`: `\x1B`, `\r`,
 * `\n`, ...), so an escape sequence in a CSV field cannot recolour, move or erase what the
 * terminal shows, and a line break inside a value cannot forge or hide a line of output.
 */
import { escapeControl } from "../../../src/Errors.ts"

export { escapeControl }

/** Each line of a multi-line text escaped on its own (the line feeds between them kept). */
export const escapeLines = (text: string): string => text.split("\n").map(escapeControl).join("\n")
