/**
 * E2B templates are images here: a template id names an image by configuration (`e2b.templates`), with defaults
 * for the two templates E2B's SDKs ask for when none is given.
 */
import { BurrowError } from '@burrow/protocol';

/** Burrow's code interpreter image (images/code-interpreter), which speaks @e2b/code-interpreter's API. */
export const CODE_INTERPRETER_IMAGE = 'burrow/code-interpreter:latest';

/** The template `Sandbox.create()` of the `e2b` package asks for. */
export const BASE_TEMPLATE = 'base';
/** The template of `@e2b/code-interpreter`. */
export const CODE_INTERPRETER_TEMPLATE = 'code-interpreter-v1';

const TEMPLATE_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export class TemplateImages {
  private readonly images: ReadonlyMap<string, string>;

  /** `configured` wins over the defaults: `base` -> the server's default image, the code interpreter template. */
  constructor(defaultImage: string, configured: Record<string, string> = {}) {
    this.images = new Map([
      [BASE_TEMPLATE, defaultImage],
      [CODE_INTERPRETER_TEMPLATE, CODE_INTERPRETER_IMAGE],
      ...Object.entries(configured).filter(([, image]) => image !== ''),
    ]);
  }

  /** The image of a template; 404 (as E2B answers an unknown template) when it has none. */
  image(template: string): string {
    if (!TEMPLATE_ID.test(template)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `templateID "${template.slice(0, 64)}" is not a template id: use letters, digits and . _ - : /`,
      );
    }
    const image = this.images.get(template);
    if (image === undefined) {
      throw new BurrowError(
        'IMAGE_NOT_FOUND',
        `template "${template}" is not known to this server: map it to an image in e2b.templates (known: ${[...this.images.keys()].join(', ')})`,
      );
    }
    return image;
  }

  /** Every template and its image. */
  entries(): [string, string][] {
    return [...this.images.entries()];
  }
}
