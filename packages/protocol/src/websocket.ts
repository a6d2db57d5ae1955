/**
 * WebSocket authentication for clients that cannot send headers (browsers): they offer two subprotocols, `burrow.v1`
 * and `burrow.key.<the key's UTF-8 bytes as unpadded base64url>`. The server takes the key from the second and
 * selects only `burrow.v1`, so the key is never echoed back and never appears in a URL.
 */
export const WS_PROTOCOL = 'burrow.v1';
export const WS_KEY_PROTOCOL_PREFIX = 'burrow.key.';
