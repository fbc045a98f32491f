// TFRecord framing, as tensorboard/summary/writer/record_writer.py writes it and
// its reader checks it: uint64 LE length, uint32 LE masked CRC-32C of those 8
// bytes, the data, uint32 LE masked CRC-32C of the data.
import { maskedCrc32c } from './crc32c.js';

export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * The records of a TFRecord file up to the first one that is incomplete or fails
 * its checksum (a writer killed mid-record leaves a torn tail); `validBytes` is
 * where the good records end.
 */
export function readRecords(bytes: Uint8Array): { records: Uint8Array[]; validBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) break;
    const length = Number(view.getBigUint64(at, true));
    const end = at + 12 + length;
    if (end + 4 > bytes.length) break;
    const data = bytes.subarray(at + 12, end);
    if (view.getUint32(end, true) !== maskedCrc32c(data)) break;
    records.push(data);
    at = end + 4;
  }
  return { records, validBytes: at };
}
