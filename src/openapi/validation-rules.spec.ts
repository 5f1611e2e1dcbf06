import 'reflect-metadata';
import { getMetadataStorage, ValidationTypes } from 'class-validator';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LoginDto, RefreshDto, SignupDto } from '../auth/auth.dto.js';
import { CreateProductDto, ProductImageInput, ProductListQuery, UpdateProductDto } from '../catalog/catalog.dto.js';
import { INSTANT_PATTERN, POSITIVE_ID } from '../common/validation.js';
import { CreateCouponDto, CreateEventDto, UpdateCouponDto, UpdateEventDto } from '../coupons/coupons.dto.js';

type Schema = Record<string, any>;
const document = JSON.parse(readFileSync(new URL('./openapi.json', import.meta.url), 'utf8')) as Schema;
const resolve = (schema: Schema): Schema => {
  const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
  return ref ? document.components.schemas[ref.split('/').pop()] : schema;
};

/**
 * What class-validator enforces, as the document must say it: each rule of a DTO and the schema
 * keyword that states it. A rule changed on one side only fails here (the drift check only says
 * that the document is what the decorators give, not that @ApiProperty agrees with @MaxLength).
 */
const RULES: Record<string, (property: Schema, constraints: any[]) => void> = {
  maxLength: (property, [max]) => expect(property.maxLength).toBe(max),
  minLength: (property, [min]) => expect(property.minLength).toBe(min),
  isNotEmpty: (property) => expect(property.minLength).toBeGreaterThanOrEqual(1),
  min: (property, [min]) => expect(property.minimum).toBe(min),
  max: (property, [max]) => expect(property.maximum).toBe(max),
  isInt: (property) => expect(property.type).toBe('integer'),
  isString: (property) => expect(resolve(property).type).toBe('string'),
  isEnum: (property, [values]) => expect(resolve(property).enum).toEqual(Object.values(values)),
  isIn: (property, [values]) => expect(resolve(property).enum).toEqual(values),
  matches: (property, [pattern]) =>
    expect(property.pattern).toBe(pattern.source === INSTANT_SOURCE ? INSTANT_PATTERN : pattern.source),
  isIso8601: (property) => expect(property.format).toBe('date-time'),
  isEmail: (property) => expect(property.format).toBe('email'),
  arrayMaxSize: (property, [max]) => expect(property.maxItems).toBe(max),
  arrayMinSize: (property, [min]) => expect(property.minItems).toBe(min),
  isArray: (property) => expect(property.type).toBe('array'),
  isObject: (property) => expect(resolve(property).type).toBe('object'),
};
// The instant rule is case-insensitive; the document spells both cases out (INSTANT_PATTERN).
const INSTANT_SOURCE = new RegExp(INSTANT_PATTERN.replace('[Tt]', 'T').replace('([Zz]|', '(Z|')).source;
// Rules with no schema keyword (they say so in the field's description):
// control characters, the JWT shape (a pattern), nested validation.
const UNSTATED = new Set(['isDisplayText', 'isJwt', 'isJWT']);

function rulesOf(target: new (...args: any[]) => object) {
  const storage = getMetadataStorage();
  return storage.getTargetValidationMetadatas(target, '', true, false);
}

describe('the document states the validation rules of every request body', () => {
  const bodies = [
    SignupDto,
    LoginDto,
    RefreshDto,
    CreateProductDto,
    UpdateProductDto,
    ProductImageInput,
    CreateEventDto,
    CreateCouponDto,
    UpdateEventDto,
    UpdateCouponDto,
  ];

  it.each(bodies.map((dto) => [dto.name, dto] as const))('%s', (name, dto) => {
    const schema = document.components.schemas[name];
    expect(schema, name).toBeDefined();
    expect(schema.additionalProperties, `${name} refuses unknown fields`).toBe(false);
    const rules = rulesOf(dto);
    const optional = new Set(
      rules.filter((rule) => rule.type === ValidationTypes.CONDITIONAL_VALIDATION).map((rule) => rule.propertyName),
    );
    const properties = new Set(rules.map((rule) => rule.propertyName));
    expect(Object.keys(schema.properties).sort(), `${name}: the same fields`).toEqual([...properties].sort());
    expect([...(schema.required ?? [])].sort(), `${name}: the same required fields`).toEqual(
      [...properties].filter((field) => !optional.has(field)).sort(),
    );
    for (const rule of rules) {
      if (rule.type !== 'customValidation' || !rule.name || UNSTATED.has(rule.name)) continue;
      const check = RULES[rule.name];
      expect(check, `${name}.${rule.propertyName}: no schema keyword known for @${rule.name}`).toBeDefined();
      const property = schema.properties[rule.propertyName];
      const items =
        property.type === 'array' && !rule.name.startsWith('array') && rule.name !== 'isArray'
          ? property.items
          : property;
      try {
        check(items, rule.constraints ?? []);
      } catch (error) {
        throw new Error(
          `${name}.${rule.propertyName} @${rule.name}(${JSON.stringify(rule.constraints)}): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  });

  it('ProductListQuery (the list query, validated by a fast path or these rules)', () => {
    const all = document.paths['/api/general/products'].get.parameters as Schema[];
    // The query's rules; the one header (If-None-Match: a 304 for a cached page) is not the pipe's.
    expect(
      all.filter((parameter) => parameter.in !== 'query').map((parameter) => [parameter.in, parameter.name]),
    ).toEqual([['header', 'If-None-Match']]);
    const parameters = all.filter((parameter) => parameter.in === 'query');
    const schemaOf = (name: string) => ({ ...parameters.find((parameter) => parameter.name === name)?.schema });
    const rules = rulesOf(ProductListQuery);
    expect(parameters.map((parameter) => parameter.name).sort()).toEqual(
      [...new Set(rules.map((rule) => rule.propertyName))].sort(),
    );
    expect(parameters.every((parameter) => parameter.required === false)).toBe(true);
    for (const rule of rules) {
      if (rule.type !== 'customValidation' || !rule.name) continue;
      RULES[rule.name](schemaOf(rule.propertyName), rule.constraints ?? []);
    }
  });

  it('path parameters are row ids', () => {
    for (const [path, item] of Object.entries(document.paths as Record<string, Schema>)) {
      for (const operation of Object.values(item)) {
        for (const parameter of (operation.parameters ?? []).filter((p: Schema) => p.in === 'path')) {
          expect(parameter.schema.pattern, `${path} ${parameter.name}`).toBe(POSITIVE_ID.source);
        }
      }
    }
  });
});
