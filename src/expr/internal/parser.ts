/**
 * The expression parser: tokens to an AST by recursive descent, one function per precedence
 * level (lowest first): `or`, `and`, `not`, comparison (non-associative), `+ -`, `* / %`, unary
 * `- !`, postfix (`.name`, `[index]`), primary.
 */
import { type SyntaxProblem, type Token, tokenize } from "./lexer.ts"

/** A node of the expression AST. Every node keeps the column where it starts (or its operator). */
export type Node =
  | { readonly kind: "literal"; readonly value: null | boolean | number | string; readonly column: number }
  | { readonly kind: "root"; readonly column: number }
  | { readonly kind: "field"; readonly name: string; readonly column: number }
  | { readonly kind: "member"; readonly target: Node; readonly key: string; readonly column: number }
  | { readonly kind: "index"; readonly target: Node; readonly index: Node; readonly column: number }
  | { readonly kind: "list"; readonly items: ReadonlyArray<Node>; readonly column: number }
  | { readonly kind: "unary"; readonly op: "-" | "!" | "not"; readonly operand: Node; readonly column: number }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: Node; readonly right: Node; readonly column: number }
  | { readonly kind: "in"; readonly negated: boolean; readonly left: Node; readonly right: Node; readonly column: number }
  | { readonly kind: "call"; readonly name: string; readonly args: ReadonlyArray<Node>; readonly column: number }

/** Binary operators (after normalising `and`/`or` to `&&`/`||`). */
export type BinaryOp = "||" | "&&" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%"

/** Words with a meaning of their own; a field with such a name is written in backticks. */
export const KEYWORDS: ReadonlySet<string> = new Set(["and", "or", "not", "in", "true", "false", "null"])

const COMPARISONS: ReadonlySet<string> = new Set(["==", "!=", "<", "<=", ">", ">="])

class Failure {
  readonly problem: SyntaxProblem
  constructor(problem: SyntaxProblem) {
    this.problem = problem
  }
}

const show = (t: Token): string => (t.kind === "eof" ? "end of expression" : `'${t.text}'`)

/** Parses an expression text, or returns the first problem with its column. */
export const parse = (text: string): { readonly ast: Node } | SyntaxProblem => {
  const lexed = tokenize(text)
  if (!("tokens" in lexed)) return lexed
  const tokens = lexed.tokens
  let pos = 0
  const peek = (): Token => tokens[pos]
  const next = (): Token => tokens[pos++]
  const fail = (message: string, column: number): never => {
    throw new Failure({ message, column })
  }
  const unexpected = (t: Token): never =>
    fail(t.kind === "eof" ? "unexpected end of expression" : `unexpected token ${show(t)}`, t.column)
  const isOp = (t: Token, op: string): boolean => t.kind === "op" && t.text === op
  const isWord = (t: Token, word: string): boolean => t.kind === "ident" && t.text === word
  const expectOp = (op: string, what: string): Token => {
    const t = peek()
    if (!isOp(t, op)) fail(`expected '${op}' ${what}, got ${show(t)}`, t.column)
    return next()
  }

  const parseOr = (): Node => {
    let left = parseAnd()
    for (;;) {
      const t = peek()
      if (!isOp(t, "||") && !isWord(t, "or")) return left
      next()
      left = { kind: "binary", op: "||", left, right: parseAnd(), column: t.column }
    }
  }
  const parseAnd = (): Node => {
    let left = parseNot()
    for (;;) {
      const t = peek()
      if (!isOp(t, "&&") && !isWord(t, "and")) return left
      next()
      left = { kind: "binary", op: "&&", left, right: parseNot(), column: t.column }
    }
  }
  const parseNot = (): Node => {
    const t = peek()
    if (isWord(t, "not")) {
      next()
      return { kind: "unary", op: "not", operand: parseNot(), column: t.column }
    }
    return parseComparison()
  }
  const comparisonAhead = (): Token | undefined => {
    const t = peek()
    if (t.kind === "op" && COMPARISONS.has(t.text)) return t
    if (isWord(t, "in")) return t
    if (isWord(t, "not") && isWord(tokens[pos + 1], "in")) return t
    return undefined
  }
  const parseComparison = (): Node => {
    const left = parseAdditive()
    const t = comparisonAhead()
    if (t === undefined) return left
    next()
    let node: Node
    if (t.kind === "ident") {
      const negated = t.text === "not"
      if (negated) next()
      node = { kind: "in", negated, left, right: parseAdditive(), column: t.column }
    } else {
      node = { kind: "binary", op: t.text as BinaryOp, left, right: parseAdditive(), column: t.column }
    }
    const again = comparisonAhead()
    if (again !== undefined) {
      fail(`comparisons cannot be chained: use '&&' between them (at ${show(again)})`, again.column)
    }
    return node
  }
  const parseAdditive = (): Node => {
    let left = parseMultiplicative()
    for (;;) {
      const t = peek()
      if (!isOp(t, "+") && !isOp(t, "-")) return left
      next()
      left = { kind: "binary", op: t.text as BinaryOp, left, right: parseMultiplicative(), column: t.column }
    }
  }
  const parseMultiplicative = (): Node => {
    let left = parseUnary()
    for (;;) {
      const t = peek()
      if (!isOp(t, "*") && !isOp(t, "/") && !isOp(t, "%")) return left
      next()
      left = { kind: "binary", op: t.text as BinaryOp, left, right: parseUnary(), column: t.column }
    }
  }
  const parseUnary = (): Node => {
    const t = peek()
    if (isOp(t, "-") || isOp(t, "!")) {
      next()
      const operand = parseUnary()
      if (t.text === "-" && operand.kind === "literal" && typeof operand.value === "number") {
        return { kind: "literal", value: -operand.value, column: t.column }
      }
      return { kind: "unary", op: t.text === "-" ? "-" : "!", operand, column: t.column }
    }
    return parsePostfix()
  }
  const parsePostfix = (): Node => {
    let node = parsePrimary()
    for (;;) {
      const t = peek()
      if (isOp(t, ".")) {
        next()
        const name = next()
        if (name.kind === "ident" || name.kind === "quoted") {
          const key = name.kind === "ident" ? name.text : name.value
          node = { kind: "member", target: node, key, column: name.column }
        } else {
          fail(`expected a field name after '.', got ${show(name)}`, name.column)
        }
      } else if (isOp(t, "[")) {
        next()
        const index = parseOr()
        expectOp("]", "to close '['")
        node = { kind: "index", target: node, index, column: t.column }
      } else if (isOp(t, "(")) {
        fail("unexpected '(': only functions can be called, by name (e.g. lower(name))", t.column)
      } else {
        return node
      }
    }
  }
  const parseArgs = (close: string, what: string): Array<Node> => {
    const items: Array<Node> = []
    if (isOp(peek(), close)) {
      next()
      return items
    }
    for (;;) {
      items.push(parseOr())
      const t = next()
      if (isOp(t, close)) return items
      if (!isOp(t, ",")) fail(`expected ',' or '${close}' ${what}, got ${show(t)}`, t.column)
    }
  }
  const parsePrimary = (): Node => {
    const t = next()
    switch (t.kind) {
      case "number":
        return { kind: "literal", value: t.value, column: t.column }
      case "string":
        return { kind: "literal", value: t.value, column: t.column }
      case "quoted":
        return { kind: "field", name: t.value, column: t.column }
      case "ident": {
        if (t.text === "true" || t.text === "false") return { kind: "literal", value: t.text === "true", column: t.column }
        if (t.text === "null") return { kind: "literal", value: null, column: t.column }
        if (isOp(peek(), "(")) {
          next()
          return { kind: "call", name: t.text, args: parseArgs(")", "in the argument list"), column: t.column }
        }
        if (KEYWORDS.has(t.text)) fail(`unexpected keyword '${t.text}' (a field of that name is written \`${t.text}\`)`, t.column)
        return { kind: "field", name: t.text, column: t.column }
      }
      case "op": {
        if (t.text === "$") return { kind: "root", column: t.column }
        if (t.text === "(") {
          const inner = parseOr()
          expectOp(")", "to close '('")
          return inner
        }
        if (t.text === "[") return { kind: "list", items: parseArgs("]", "in the list"), column: t.column }
        return unexpected(t)
      }
      case "eof":
        return unexpected(t)
    }
  }

  try {
    if (peek().kind === "eof") return { message: "empty expression", column: 1 }
    const ast = parseOr()
    const rest = peek()
    if (rest.kind !== "eof") unexpected(rest)
    return { ast }
  } catch (e) {
    if (e instanceof Failure) return e.problem
    throw e
  }
}
