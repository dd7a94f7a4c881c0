/**
 * The pure sequence bookkeeping (SequenceBook, runnable) driven by a virtual clock, and the
 * sequence_batching config: parsed in Triton's vocabulary, split off the client's tensors,
 * rendered back.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.js';
import { parseModelConfig } from '../../src/repository/config.js';
import { renderTritonConfig } from '../../src/repository/render.js';
import { completeConfig } from '../../src/repository/autocomplete.js';
import { SequenceBook, type SequenceControl, runnable } from '../../src/scheduling/sequence.js';
import { clientTensors } from '../../src/scheduling/sequence-config.js';

const start = (id: number | string, end = false): SequenceControl => ({ id, start: true, end });
const next = (id: number | string, end = false): SequenceControl => ({ id, start: false, end });

describe('SequenceBook', () => {
  it('admits a start, its continuations and its end, then says the sequence finished', () => {
    const book = new SequenceBook({ maxSequences: 4, idleMs: 1000 });
    expect(book.arrive(start(1), 0)).toBeUndefined();
    book.settle(start(1), 1);
    expect(book.arrive(next(1), 2)).toBeUndefined();
    book.settle(next(1), 3);
    expect(book.arrive(next(1, true), 4)).toBeUndefined();
    expect(book.isLive(1)).toBe(true);
    expect(book.settle(next(1, true), 5)).toBe(true);
    expect(book.isLive(1)).toBe(false);
    expect(book.arrive(next(1), 6)).toMatchObject({ kind: 'invalid_argument', reason: 'sequence_finished', message: expect.stringContaining('sequence 1 has finished') });
    // An id may be used again once its sequence has ended.
    expect(book.arrive(start(1), 7)).toBeUndefined();
  });

  it('names unknown sequences, and keeps numeric and string ids apart', () => {
    const book = new SequenceBook({ maxSequences: 4, idleMs: 1000 });
    expect(book.arrive(start(5), 0)).toBeUndefined();
    expect(book.arrive(next('5'), 0)).toMatchObject({ reason: 'sequence_unknown', message: expect.stringContaining('sequence "5" is unknown') });
    expect(book.arrive(next(6), 0)).toMatchObject({ reason: 'sequence_unknown', message: expect.stringContaining('sequence_start') });
  });

  it('refuses a start for a live sequence and anything after an end was sent', () => {
    const book = new SequenceBook({ maxSequences: 4, idleMs: 1000 });
    book.arrive(start('a'), 0);
    expect(book.arrive(start('a'), 1)).toMatchObject({ kind: 'invalid_argument', reason: 'sequence_live' });
    expect(book.arrive(next('a', true), 2)).toBeUndefined();
    expect(book.arrive(next('a'), 3)).toMatchObject({ kind: 'invalid_argument', reason: 'sequence_ending' });
    expect(book.arrive(start('a'), 3)).toMatchObject({ reason: 'sequence_live' });
  });

  it('expires a sequence idle for the limit, counted from its last answer, never one with requests pending', () => {
    const clock = new VirtualClock();
    const book = new SequenceBook({ maxSequences: 4, idleMs: 100 });
    book.arrive(start(1), clock.now());
    book.arrive(start(2), clock.now());
    book.settle(start(1), clock.now());
    expect(book.nextExpiry()).toBe(100);
    clock.advance(500); // sequence 2's request is still running: it is not idle
    book.settle(start(2), clock.now());
    expect(book.expire(clock.now())).toEqual([1]);
    expect(book.nextExpiry()).toBe(600);
    clock.advance(99);
    expect(book.expire(clock.now())).toEqual([]);
    clock.advance(1);
    expect(book.expire(clock.now())).toEqual([2]);
    expect(book.nextExpiry()).toBeUndefined();
    expect(book.arrive(next(1), clock.now())).toMatchObject({ reason: 'sequence_expired', message: expect.stringContaining('expired after 100 ms') });
  });

  it('refuses a start beyond the limit as overload, and takes one again once a sequence ends', () => {
    const book = new SequenceBook({ maxSequences: 2, idleMs: 1000 });
    book.arrive(start(1), 0);
    book.arrive(start(2, true), 0);
    expect(book.arrive(start(3), 0)).toMatchObject({ kind: 'overloaded', reason: 'sequence_limit', message: expect.stringContaining('2 sequences are live') });
    book.settle(start(2, true), 1);
    expect(book.arrive(start(3), 1)).toBeUndefined();
    expect(book.liveCount).toBe(2);
  });

  it('frees a sequence whose end request failed too: the client said it was done', () => {
    const book = new SequenceBook({ maxSequences: 2, idleMs: 1000 });
    book.arrive(start(1, true), 0);
    expect(book.settle(start(1, true), 1)).toBe(true);
    expect(book.liveCount).toBe(0);
  });

  it('remembers a bounded number of ended ids; older ones read as unknown', () => {
    const book = new SequenceBook({ maxSequences: 10, idleMs: 1000, remembered: 2 });
    for (const id of [1, 2, 3]) {
      book.arrive(start(id, true), 0);
      book.settle(start(id, true), 0);
    }
    expect(book.arrive(next(1), 0)).toMatchObject({ reason: 'sequence_unknown' });
    expect(book.arrive(next(3), 0)).toMatchObject({ reason: 'sequence_finished' });
  });
});

describe('runnable', () => {
  const r = (seq: number, sequence: number | string) => ({ seq, sequence });
  it('takes the oldest waiting request of each sequence, none of a sequence already running, in queue order', () => {
    const queue = [r(1, 'a'), r(2, 'b'), r(3, 'a'), r(4, 'c'), r(5, 'b')];
    expect(runnable(queue, new Set()).map((x) => x.seq)).toEqual([1, 2, 4]);
    expect(runnable(queue, new Set(['a'])).map((x) => x.seq)).toEqual([2, 4]);
    expect(runnable(queue, new Set(['a', 'b', 'c']))).toEqual([]);
  });
});

const SILERO_CONFIG = `
max_batch_size: 8
input: [{ name: input, data_type: TYPE_FP32, dims: [512] }]
sequence_batching:
  max_sequence_idle_microseconds: 2000000
  oldest: { max_candidate_sequences: 16, max_queue_delay_microseconds: 500 }
  state:
    - { input_name: state, output_name: stateN, data_type: TYPE_FP32, dims: [2, 128], batch_axis: 1,
        initial_state: [{ data_type: TYPE_FP32, dims: [2, 128], zero_data: true, name: zeros }] }
  constant_input: [{ name: sr, data_type: TYPE_INT64, dims: [], value: [16000] }]
`;
// Silero VAD v5's tensors as onnxruntime declares them.
const SILERO = {
  inputs: [
    { name: 'input', datatype: 'FP32' as const, dims: [-1, -1] },
    { name: 'state', datatype: 'FP32' as const, dims: [2, -1, 128] },
    { name: 'sr', datatype: 'INT64' as const, dims: [] },
  ],
  outputs: [
    { name: 'output', datatype: 'FP32' as const, dims: [-1, 1] },
    { name: 'stateN', datatype: 'FP32' as const, dims: [-1, -1, -1] },
  ],
};
const parse = (text: string) => parseModelConfig(text, 'vad/config.yaml', 'vad');

describe('sequence_batching config', () => {
  it('parses Triton\'s fields with shoal\'s batch_axis and constant_input, and renders them back', () => {
    const partial = parse(SILERO_CONFIG);
    expect(partial.sequence_batching).toEqual({
      max_sequence_idle_microseconds: 2_000_000,
      oldest: { max_candidate_sequences: 16, preferred_batch_size: [], max_queue_delay_microseconds: 500 },
      state: [{ input_name: 'state', output_name: 'stateN', data_type: 'FP32', dims: [2, 128], batch_axis: 1 }],
      constant_input: [{ name: 'sr', data_type: 'INT64', dims: [], value: [16000] }],
    });
    const config = completeConfig(partial, clientTensors(partial, SILERO, 'vad/config.yaml'), 'vad/config.yaml');
    expect(config.input.map((t) => t.name)).toEqual(['input']);
    expect(config.output.map((t) => t.name)).toEqual(['output']);
    const rendered = renderTritonConfig(config);
    expect(parse(JSON.stringify(rendered)).sequence_batching).toEqual(partial.sequence_batching);
  });

  it('takes Triton\'s defaults: 1 s idle, zeros for initial state', () => {
    const partial = parse('max_batch_size: 4\nsequence_batching: { state: [{ input_name: s, output_name: t, data_type: TYPE_FP32, dims: [3] }] }');
    expect(partial.sequence_batching).toMatchObject({ max_sequence_idle_microseconds: 1_000_000, state: [{ batch_axis: 0 }], constant_input: [] });
  });

  it.each([
    ['sequence_batching: {}', 'sequence_batching: needs max_batch_size > 0'],
    ['max_batch_size: 4\nsequence_batching: {}\ndynamic_batching: {}', 'cannot be combined with dynamic_batching'],
    ['max_batch_size: 4\nsequence_batching: { direct: {} }', 'sequence_batching.direct: is a Triton feature shoal does not support'],
    ['max_batch_size: 4\nsequence_batching: { oldest: { preferred_batch_size: [8] } }', 'preferred_batch_size[0]: 8 exceeds max_batch_size 4'],
    ['max_batch_size: 4\nsequence_batching: { state: [{ input_name: s, output_name: t, data_type: TYPE_FP32, dims: [3], batch_axis: 2 }] }', 'state[0].batch_axis: 2 is beyond'],
    ['max_batch_size: 4\nsequence_batching: { state: [{ input_name: s, output_name: t, data_type: TYPE_FP32, dims: [3], initial_state: [{ data_file: x }] }] }', 'data_file'],
    ['max_batch_size: 4\nsequence_batching: { constant_input: [{ name: sr, data_type: TYPE_INT64, dims: [2], value: [1] }] }', 'value: has 1 values but dims [2] hold 2'],
    ['max_batch_size: 4\nsequence_batching: { constant_input: [{ name: sr, data_type: TYPE_INT64, dims: [], value: [1.5] }] }', 'must be integers for INT64'],
  ])('refuses %j', (text, message) => {
    expect(() => parse(text)).toThrow(message);
  });

  it('checks state and constant inputs against the model, naming the field', () => {
    const split = (text: string) => clientTensors(parse(text), SILERO, 'vad/config.yaml');
    const state = (more: string) => `max_batch_size: 4\nsequence_batching: { state: [{ input_name: state, output_name: stateN, data_type: TYPE_FP32, ${more} }] }`;
    expect(() => split(state('dims: [2, 128]'))).toThrow(/state\[0\]: dims \[2, 128\] with the batch dimension at axis 0 make \[-1, 2, 128\]/);
    expect(() => split(state('dims: [2, 64], batch_axis: 1'))).toThrow('does not fit');
    expect(() => split(state('dims: [2, 128], batch_axis: 1').replace('input_name: state', 'input_name: h'))).toThrow("'h' is not an input of the model");
    expect(() => split('max_batch_size: 4\nsequence_batching: { constant_input: [{ name: sr, data_type: TYPE_FP32, dims: [], value: [1] }] }')).toThrow('data_type FP32 does not match the model\'s INT64');
    expect(() => split(`${SILERO_CONFIG}\noutput: [{ name: stateN }]`)).toThrow("output 'stateN' is held or fed by the server");
  });
});
