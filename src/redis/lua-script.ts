import type { ChainableCommander, Redis } from 'ioredis';

/** What Redis takes as a key or an argument. */
type Value = string | number;

type RequiredName<N> = N extends `${string}?` | `...${string}` ? never : N;
type OptionalName<N> = N extends `${infer Name}?` ? Name : never;
type RestName<N> = N extends `...${infer Name}` ? Name : never;

/**
 * What a script is called with: one property per declared key and argument, by name. `name?` may be
 * left out (undefined), `...name` is a list (the arguments left over).
 */
export type ScriptInput<Keys extends string, Args extends string> = { [N in RequiredName<Keys | Args>]: Value } & {
  [N in OptionalName<Keys | Args>]?: Value;
} & { [N in RestName<Args>]: readonly Value[] };

/** Result codes by name: numbers, or words. */
export type CodeTable = Record<string, number | string>;

export interface LuaScriptDeclaration<Keys extends string, Args extends string, Codes extends CodeTable, Raw, Reply> {
  /** The command's name on an ioredis client (defineCommand). */
  name: string;
  /**
   * KEYS, in order, by the names the Lua body uses. `name?`: optional, only after the required ones;
   * left out, it is not sent (the body sees nil), nor is any after it.
   */
  keys: readonly Keys[];
  /** ARGV, in order, likewise; the last may be `...name`: every argument left (ARGV[nameFrom] on). */
  args: readonly Args[];
  /** Result codes by name (numbers, or words), read by the Lua body (`local NAME = value`) and by TypeScript from the same table. */
  codes?: Codes;
  /** The body: it reads the keys, arguments and codes by name, never as KEYS[n], ARGV[n] or a bare number. */
  lua: string;
  /** The script's reply as the caller wants it. */
  reply: (raw: Raw) => Reply;
}

const LUA_KEYWORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(
    ' ',
  ),
);

/** Where the arguments of a `...name` list start in ARGV (a Lua local of the body: `<name>From`). */
const restFrom = (name: string) => `${name}From`;

/** A declared key or argument: its name in the Lua body and in the caller's object. */
interface Slot {
  name: string;
  optional: boolean;
}

const slot = (declared: string): Slot =>
  declared.endsWith('?') ? { name: declared.slice(0, -1), optional: true } : { name: declared, optional: false };

/**
 * A Lua script declared once, with its keys and arguments by name and its result codes as a table
 * shared with TypeScript: the Lua text the server runs starts with a `local` per key, argument and
 * code, so the body says `members`, `memberId` and `THROTTLED` where it would say KEYS[2], ARGV[1]
 * and 3, and a caller passes one object (`script.run(redis, { members, memberId, … })`) instead of a
 * list whose order must match the body's numbering. Run through ioredis' defineCommand (EVALSHA, EVAL
 * on NOSCRIPT, so a Redis restart or SCRIPT FLUSH is survived), one command per script and client,
 * defined when the client is made (`define`).
 * A declaration that could be misread (a name used twice, an optional key before a required one, a
 * name Lua cannot take) throws when it is made: at start-up.
 */
export class LuaScript<Keys extends string, Args extends string, Codes extends CodeTable, Raw, Reply> {
  readonly name: string;
  /** The text Redis runs: the locals, then the body. */
  readonly lua: string;
  readonly codes: Codes;
  private readonly keys: readonly Slot[];
  private readonly args: readonly Slot[];
  /** The `...name` list's name, if the last argument is one. */
  private readonly rest: string | undefined;
  private readonly parse: (raw: Raw) => Reply;
  private readonly definedOn = new WeakSet<object>();

  constructor(declaration: LuaScriptDeclaration<Keys, Args, Codes, Raw, Reply>) {
    const { name, lua, reply } = declaration;
    this.name = name;
    this.codes = declaration.codes ?? ({} as Codes);
    this.parse = reply;
    const last = declaration.args.at(-1);
    this.rest = last?.startsWith('...') ? last.slice(3) : undefined;
    this.keys = declaration.keys.map(slot);
    this.args = (this.rest ? declaration.args.slice(0, -1) : declaration.args).map(slot);
    this.check();
    this.lua = [
      `-- ${name}`,
      ...this.keys.map((key, i) => `local ${key.name} = KEYS[${i + 1}]`),
      ...this.args.map((arg, i) => `local ${arg.name} = ARGV[${i + 1}]`),
      ...(this.rest ? [`local ${restFrom(this.rest)} = ${this.args.length + 1}`] : []),
      ...Object.entries(this.codes).map(
        ([code, value]) => `local ${code} = ${typeof value === 'string' ? `'${value}'` : value}`,
      ),
      lua.trim(),
      '',
    ].join('\n');
  }

  /** Runs the script on `client` (where `define` has put it) and returns its reply. */
  async run(client: Redis, input: ScriptInput<Keys, Args>): Promise<Reply> {
    if (!this.definedOn.has(client)) throw new Error(`${this.name}: define(client) at start-up, before running it`);
    const command = (client as unknown as Record<string, (...values: Value[]) => Promise<unknown>>)[this.name];
    return this.parse((await command.apply(client, this.commandArgs(input))) as Raw);
  }

  /**
   * Adds the script to a pipeline of a client it was defined on before the pipeline was made (an ioredis
   * pipeline takes its client's commands when it is created); its reply is in `exec()`'s, as Redis sent it.
   */
  queue<P extends ChainableCommander>(pipeline: P, input: ScriptInput<Keys, Args>): P {
    const command = (pipeline as unknown as Record<string, ((...values: Value[]) => P) | undefined>)[this.name];
    if (typeof command !== 'function')
      throw new Error(`${this.name}: define(client) before client.pipeline(): the pipeline has no such command`);
    return command.apply(pipeline, this.commandArgs(input));
  }

  /**
   * Defines the script's command on a client, once, when the client is made (its owner's constructor).
   * Not at the first run: with auto-pipelining, a command joins the pipeline of its event-loop turn,
   * which took the client's commands when it was made; a command defined after it is missing there (the
   * call fails, and ioredis then mismatches the pipeline's replies).
   */
  define(client: Redis): void {
    if (this.definedOn.has(client)) return;
    // No numberOfKeys: each call says how many keys it sends (an optional key may be left out).
    client.defineCommand(this.name, { lua: this.lua });
    this.definedOn.add(client);
  }

  /** What the command is called with: the number of keys, the keys, the arguments, in declared order. */
  commandArgs(input: ScriptInput<Keys, Args>): Value[] {
    const values = input as Record<string, Value | readonly Value[] | undefined>;
    // The given ones, up to the first left out; none may follow it, and no required one may be left out.
    const sent = (slots: readonly Slot[]): Value[] => {
      const leftOut = slots.findIndex((slot) => values[slot.name] === undefined);
      const given = leftOut < 0 ? slots : slots.slice(0, leftOut);
      const missing = slots.slice(given.length).find((slot) => !slot.optional || values[slot.name] !== undefined);
      if (missing)
        throw new Error(`${this.name}: ${missing.name} ${missing.optional ? 'given after one left out' : 'missing'}`);
      return given.map((slot) => values[slot.name] as Value);
    };
    const keys = sent(this.keys);
    const args = sent(this.args);
    if (this.rest) args.push(...((values[this.rest] ?? []) as readonly Value[]));
    return [keys.length, ...keys, ...args];
  }

  private check(): void {
    const declared = [...this.keys, ...this.args];
    for (const list of [this.keys, this.args]) {
      const firstOptional = list.findIndex((slot) => slot.optional);
      if (firstOptional >= 0 && list.slice(firstOptional).some((slot) => !slot.optional))
        throw this.misdeclared(`a required name after an optional one (${list.map((s) => s.name).join(', ')})`);
    }
    if (declared.some((slot) => slot.name.startsWith('...')))
      throw this.misdeclared('only the last argument may be a ...list');
    if (this.rest && this.args.some((slot) => slot.optional))
      throw this.misdeclared('optional arguments and a ...list cannot be told apart');
    const names = [
      ...declared.map((slot) => slot.name),
      ...(this.rest ? [this.rest, restFrom(this.rest)] : []),
      ...Object.keys(this.codes),
    ];
    for (const [code, value] of Object.entries(this.codes))
      if (typeof value === 'string' ? !/^[\w.:-]*$/.test(value) : !Number.isFinite(value))
        throw this.misdeclared(`code ${code}: ${JSON.stringify(value)} cannot be written in Lua as it is`);
    for (const name of names) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || LUA_KEYWORDS.has(name) || ['KEYS', 'ARGV', 'redis'].includes(name))
        throw this.misdeclared(`"${name}" cannot be a Lua local`);
      if (names.indexOf(name) !== names.lastIndexOf(name)) throw this.misdeclared(`"${name}" is declared twice`);
    }
  }

  private misdeclared(what: string): Error {
    return new Error(`Lua script ${this.name}: ${what}`);
  }
}
