/**
 * Checksums of stored checkpoint records: the JSON text of a record is sealed with the SHA-256
 * of its bytes as a last field, `"checksum":"<64 hex digits>"`, and checked before the record is
 * parsed. An edited or damaged record (a changed offset, a flipped byte) is then not followed:
 * the backend treats it as unreadable — a warning names it, and the newest older chain of intact
 * records is restored instead (a sink that has committed later checkpoints refuses that restore).
 * Records of format 1 (written before checksums) carry none and are read as they are; a format 2
 * record without one is damaged.
 */
import { createHash } from "node:crypto"

const digest = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

const SEAL = /,"checksum":"([0-9a-f]{64})"\}$/

/** `json` (a JSON object's text) with its checksum as a last field. */
export const seal = (json: string): string => `${json.slice(0, -1)},"checksum":"${digest(json)}"}`

/**
 * The record's text without its checksum when the checksum matches (`sealed: true`), the text as
 * it is when it has none (`sealed: false`), or why it is damaged.
 */
export const unseal = (
  text: string
): { readonly ok: true; readonly json: string; readonly sealed: boolean } | { readonly ok: false; readonly reason: string } => {
  const trimmed = text.trimEnd()
  const m = SEAL.exec(trimmed)
  if (m === null) return { ok: true, json: text, sealed: false }
  const json = trimmed.slice(0, m.index) + "}"
  return digest(json) === m[1]
    ? { ok: true, json, sealed: true }
    : { ok: false, reason: "its checksum does not match its content (it was edited or damaged)" }
}

/** The record format that carries a checksum (older formats may lack one). */
export const SEALED_FORMAT = 2
