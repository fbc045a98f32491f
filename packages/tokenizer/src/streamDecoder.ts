import type { DecodeState } from './decode.js';
import { pendingSuffixLength } from './utf8.js';

/**
 * Decodes ids one at a time for display. `push` returns only text that is final:
 * bytes of a character split across byte-fallback tokens are held until the
 * character is complete. The concatenation of every `push` and the final `flush`
 * equals `tokenizer.decode(ids)`.
 */
export class StreamDecoder {
  constructor(
    private readonly state: DecodeState,
    private readonly checkId: (id: number) => void,
  ) {}

  /** Feeds one id; returns the text that became final. */
  push(id: number): string {
    this.checkId(id);
    const text = this.state.push(id);
    const bytes = this.state.bytes;
    const ready = bytes.length - pendingSuffixLength(bytes, 0, bytes.length);
    return text + this.state.takeBytes(ready);
  }

  /** Ends the stream: held bytes that never completed a character become U+FFFD. */
  flush(): string {
    return this.state.takeBytes(this.state.bytes.length);
  }
}
