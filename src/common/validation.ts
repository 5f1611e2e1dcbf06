import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './errors.js';

function flatten(errors: ValidationError[], parent = ''): { field: string; errors: string[] }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, errors: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Bodies, params and queries: unknown fields rejected, types converted, 400 VALIDATION_FAILED with details. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => new AppError('VALIDATION_FAILED', 'The request is invalid', flatten(errors)),
});
