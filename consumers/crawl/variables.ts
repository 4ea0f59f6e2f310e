import { CrawlError } from '../../schemas/errors.js';
import { redactQuery } from './source-key.js';
import type { AttributeList } from './attributes.js';

/** Variables a playlist defined with EXT-X-DEFINE, by name. */
export type Definitions = ReadonlyMap<string, string>;

const NAME = /^[A-Za-z0-9_-]+$/;
const REFERENCE = /\{\$([A-Za-z0-9_-]+)\}/g;

/**
 * The EXT-X-DEFINE variables of one playlist (RFC 8216bis section 4.4.2.3): NAME/VALUE pairs,
 * IMPORT of a variable of the multivariant playlist that named this one, and QUERYPARAM, whose
 * value comes from the query of the URL the playlist was loaded from. Every `{$name}` in a URI
 * line or a quoted-string attribute is replaced, all occurrences (m3u8-parser replaces only the
 * first). A reference to a variable not defined earlier, a duplicate name, or a bad IMPORT or
 * QUERYPARAM makes the playlist unparseable, as the RFC requires.
 *
 * Error messages name variables, never their values: a QUERYPARAM value is often a token.
 */
export class VariableScope {
  private readonly defs = new Map<string, string>();
  private importedAt: number | undefined;

  constructor(
    private readonly where: string,
    private readonly o: {
      /** The URL the playlist was requested with (its query feeds QUERYPARAM). */
      requestUrl: string;
      /** The final URL after redirects, consulted when the requested one lacks the parameter. */
      finalUrl: string;
      /** Definitions of the multivariant playlist that named this one; none for an entry playlist. */
      imports?: Definitions;
    },
  ) {}

  get definitions(): Definitions {
    return this.defs;
  }

  /** Line number of the first IMPORT, so that the caller can refuse it in a multivariant playlist. */
  get firstImportLine(): number | undefined {
    return this.importedAt;
  }

  define(list: AttributeList, line: number): void {
    const { attrs } = list;
    const kinds = ['NAME', 'IMPORT', 'QUERYPARAM'].filter((k) => attrs.has(k));
    if (kinds.length !== 1) {
      this.fail(line, 'EXT-X-DEFINE needs exactly one of NAME, IMPORT or QUERYPARAM');
    }
    const kind = kinds[0]!;
    const name = attrs.get(kind)!.value;
    if (!NAME.test(name))
      this.fail(line, `EXT-X-DEFINE ${kind} ${JSON.stringify(name)} is not a valid variable name`);
    if (this.defs.has(name)) this.fail(line, `EXT-X-DEFINE defines ${name} twice`);
    let value: string | undefined;
    if (kind === 'NAME') {
      value = attrs.get('VALUE')?.value;
      if (value === undefined) this.fail(line, `EXT-X-DEFINE NAME=${name} has no VALUE`);
    } else if (kind === 'IMPORT') {
      this.importedAt ??= line;
      value = this.o.imports?.get(name);
      if (value === undefined) {
        this.fail(
          line,
          `EXT-X-DEFINE IMPORT=${name}: no multivariant playlist above this one defines ${name}`,
        );
      }
    } else {
      value = queryParam(this.o.requestUrl, name) ?? queryParam(this.o.finalUrl, name);
      if (value === undefined || value === '') {
        this.fail(
          line,
          `EXT-X-DEFINE QUERYPARAM=${name}: the playlist's URL has no query parameter ${name}`,
        );
      }
    }
    this.defs.set(name, value!);
  }

  /**
   * Replaces every variable reference in `text`. With `maxLength`, a result longer than that
   * fails before it is built: a line of references to one long value can expand to gigabytes.
   */
  substitute(text: string, line: number, maxLength = Number.POSITIVE_INFINITY): string {
    if (!text.includes('{$')) return text;
    let length = text.length;
    return text.replace(REFERENCE, (ref: string, name: string) => {
      const value = this.defs.get(name);
      if (value === undefined)
        this.fail(line, `{$${name}} is used but no EXT-X-DEFINE before it defines ${name}`);
      length += value!.length - ref.length;
      if (length > maxLength) {
        this.fail(
          line,
          `a URI longer than ${maxLength} characters after variable substitution (COLONY_MAX_URI_LENGTH)`,
        );
      }
      return value!;
    });
  }

  private fail(line: number, why: string): never {
    throw new CrawlError(`${redactQuery(this.where)} line ${line}: ${why}`);
  }
}

function queryParam(url: string, name: string): string | undefined {
  try {
    return new URL(url).searchParams.get(name) ?? undefined;
  } catch {
    return undefined;
  }
}
