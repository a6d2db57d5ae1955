import { describe, expect, it } from 'vitest';
import { LineEditor } from './line-editor.js';
import { CwdMarkerFilter, MARK } from './shell-marker.js';

describe('line editor', () => {
  it('echoes, edits and submits lines, including pasted ones', () => {
    const editor = new LineEditor();
    expect(editor.feed('ls -x')).toEqual([{ type: 'echo', text: 'ls -x' }]);
    expect(editor.feed('\x7f\x7fla')).toEqual([{ type: 'echo', text: '\b \b\b \bla' }]);
    expect(editor.feed('\r')).toEqual([
      { type: 'echo', text: '\r\n' },
      { type: 'submit', line: 'ls la' },
    ]);
    expect(editor.feed('echo a\r\necho b\r').filter((effect) => effect.type === 'submit')).toEqual([
      { type: 'submit', line: 'echo a' },
      { type: 'submit', line: 'echo b' },
    ]);
  });

  it('walks the history with the arrow keys and ignores other escape sequences', () => {
    const editor = new LineEditor();
    editor.feed('first\rsecond\r');
    expect(editor.feed('\x1b[A')).toEqual([{ type: 'echo', text: 'second' }]);
    expect(editor.feed('\x1b[A')).toEqual([{ type: 'echo', text: '\b \b'.repeat(6) + 'first' }]);
    expect(editor.feed('\x1b[B')).toEqual([{ type: 'echo', text: '\b \b'.repeat(5) + 'second' }]);
    expect(editor.feed('\x1b[15~\x1bOP')).toEqual([]);
    expect(editor.buffer).toBe('second');
  });

  it('interrupts, clears and ends input', () => {
    const editor = new LineEditor();
    editor.feed('half');
    expect(editor.feed('\x03')).toEqual([{ type: 'echo', text: '^C\r\n' }, { type: 'interrupt' }]);
    expect(editor.buffer).toBe('');
    expect(editor.feed('\x04')).toEqual([{ type: 'eof' }]);
    editor.feed('abc');
    expect(editor.feed('\x15')).toEqual([{ type: 'echo', text: '\b \b'.repeat(3) }]);
    expect(editor.feed('\x0c')).toEqual([{ type: 'clear-screen' }]);
  });
});

describe('working-directory marker', () => {
  it('passes stderr through and takes the directory from the marker, even split across chunks', () => {
    const filter = new CwdMarkerFilter();
    expect(filter.feed('oops\n')).toBe('oops\n');
    expect(filter.feed(`late${MARK}/t`)).toBe('late');
    expect(filter.feed(`mp${MARK}`)).toBe('');
    expect(filter.finish()).toEqual({ cwd: '/tmp', rest: '' });
  });
});
