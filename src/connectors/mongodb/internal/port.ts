/**
 * The part of the MongoDB driver the connectors use, as a small interface: `MongoClient` fits it,
 * and so does the MongoClient-shaped fake of the tests (no module mocking). The connectors get a
 * {@link Connect} function: the real one opens a `MongoClient`.
 */
import { type AnyBulkWriteOperation, type Document, MongoClient } from "mongodb"

/** A cursor's documents. */
export interface CursorPort {
  toArray(): Promise<Array<Document>>
}

/** A change stream: the next change without waiting long (`null`: none now), and its resume token. */
export interface ChangeStreamPort {
  tryNext(): Promise<Document | null>
  readonly resumeToken: unknown
  close(): Promise<void>
}

/** A collection. */
export interface CollectionPort {
  bulkWrite(operations: ReadonlyArray<AnyBulkWriteOperation>, options: { readonly ordered: false; readonly writeConcern?: Document }): Promise<unknown>
  find(filter: Document, options: { readonly sort: Document; readonly limit: number }): CursorPort
  watch(pipeline: Array<Document>, options: Document): ChangeStreamPort
}

/** A database. */
export interface DatabasePort {
  collection(name: string): CollectionPort
  command(command: Document): Promise<Document>
}

/** A connected client. */
export interface ClientPort {
  db(name: string): DatabasePort
  close(): Promise<void>
}

/** Opens a client for a URL. */
export type Connect = (url: string) => Promise<ClientPort>

/** The real driver: a connected `MongoClient`. */
export const connectDriver: Connect = async (url) => {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 30_000 })
  await client.connect()
  return {
    db: (name) => {
      const db = client.db(name)
      return {
        command: (command) => db.command(command),
        collection: (collectionName) => {
          const collection = db.collection(collectionName)
          return {
            bulkWrite: (operations, options) => collection.bulkWrite(operations, options),
            find: (filter, options) => collection.find(filter, options),
            watch: (pipeline, options) => collection.watch(pipeline, options)
          }
        }
      }
    },
    close: () => client.close()
  }
}
