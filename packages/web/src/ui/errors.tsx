/**
 * Every failure reads as a sentence with its code: the API's `{error, code}` (and the field it names), or the
 * SDK's local failures (CONNECTION_FAILED, ABORTED, CLIENT_TIMEOUT). Never a blank page.
 */
export interface Described {
  code: string;
  message: string;
  /** The request field the server named, when it named one. */
  field: string | undefined;
}

export function describeError(error: unknown): Described {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const details = (error as { details?: Record<string, unknown> }).details;
    const field = typeof details?.field === 'string' ? details.field : undefined;
    return { code: typeof code === 'string' ? code : 'ERROR', message: error.message, field };
  }
  return { code: 'ERROR', message: String(error), field: undefined };
}

export function ErrorMessage({ error, context }: { error: unknown; context?: string }) {
  if (error === undefined || error === null) return null;
  const { code, message } = describeError(error);
  return (
    <div class="error" role="alert">
      <span class="error-code">{code}</span> {context === undefined ? '' : `${context}: `}
      {message}
    </div>
  );
}
