"""NumPy's `RandomState(seed).randn(dim)` as TensorFlow ops, so a served model maps seeds to the CLI's z.

`kstylegan sample --seeds` draws `z = np.random.RandomState(seed).randn(1, z_dim)` (NVIDIA's
convention). To make the SavedModel's `seeds` signature give the same images, this module
reproduces NumPy's legacy generator in-graph: the MT19937 seeding and twist (Matsumoto &
Nishimura 1998), 53-bit doubles from two 32-bit words, and the polar Box-Muller method with
rejection that `randn` uses (each accepted pair gives two values: `f * x2` first, then `f * x1`).
Integers are int64 masked to 32 bits; the arithmetic is float64, cast to float32 at the end.
"""
import tensorflow as tf

STATE_SIZE, SHIFT = 624, 397  # MT19937's n and m
MASK32, UPPER_BIT, LOWER_BITS, MATRIX_A = 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x9908B0DF
PAIRS_PER_TWIST = STATE_SIZE // 4  # a double takes two words, a Gaussian pair two doubles
MAX_SEED = 2**32 - 1
# Tensors have no `<<` / `>>` operators; these helpers keep the formulas readable.
AND, OR, XOR = tf.bitwise.bitwise_and, tf.bitwise.bitwise_or, tf.bitwise.bitwise_xor
SHR, SHL = tf.bitwise.right_shift, tf.bitwise.left_shift


def _seed_states(seeds):
    """`[B]` int64 seeds -> `[B, 624]` states, NumPy's `mt19937_seed` (Knuth's multiplier)."""
    def step(key, position):  # key < 2**32 and the multiplier < 2**31: the product fits int64
        return AND(1812433253 * XOR(key, SHR(key, 30)) + position, MASK32)

    keys = tf.scan(step, tf.range(1, STATE_SIZE, dtype=tf.int64), initializer=seeds)
    return tf.transpose(tf.concat([seeds[None], keys], axis=0))


def _twist(state):
    """One MT19937 regeneration of `[B, 624]` states, in the four runs whose inputs are ready together."""
    def mix(current, following, far):
        y = OR(AND(current, UPPER_BIT), AND(following, LOWER_BITS))
        return XOR(XOR(far, SHR(y, 1)), AND(y, 1) * MATRIX_A)

    head = STATE_SIZE - SHIFT  # 227: words 0..226 read old words 397..623
    first = mix(state[:, :head], state[:, 1: head + 1], state[:, SHIFT:])
    second = mix(state[:, head: 2 * head], state[:, head + 1: 2 * head + 1], first)  # reads new words 0..226
    third = mix(state[:, 2 * head: -1], state[:, 2 * head + 1:], second[:, : STATE_SIZE - 1 - 2 * head])
    last = mix(state[:, -1:], first[:, :1], second[:, SHIFT - 1 - head: SHIFT - head])
    return tf.concat([first, second, third, last], axis=1)


def _temper(state):
    y = XOR(state, SHR(state, 11))
    y = XOR(y, AND(SHL(y, 7), 0x9D2C5680))
    y = XOR(y, AND(SHL(y, 15), 0xEFC60000))
    return XOR(y, SHR(y, 18))


def _candidate_pairs(words):
    """`[B, 624]` words -> 156 candidate pairs `(x1, x2)` in (-1, 1) and whether the polar method accepts each."""
    words = tf.reshape(words, [tf.shape(words)[0], -1, 2])
    high, low = tf.cast(SHR(words[..., 0], 5), tf.float64), tf.cast(SHR(words[..., 1], 6), tf.float64)
    uniform = (high * 67108864.0 + low) / 9007199254740992.0  # 53-bit double in [0, 1)
    uniform = tf.reshape(uniform, [tf.shape(words)[0], -1, 2])
    x1, x2 = 2.0 * uniform[..., 0] - 1.0, 2.0 * uniform[..., 1] - 1.0
    radius2 = x1 * x1 + x2 * x2
    return x1, x2, radius2, (radius2 < 1.0) & (radius2 > 0.0)


def randn_from_seeds(seeds, dim):
    """Latents `[N, dim]` (float32): row i is `np.random.RandomState(seeds[i]).randn(dim)`.

    Runs in graph mode (inside a `tf.function` or a SavedModel signature). Twists are added
    until every seed has enough accepted pairs (about 2 twists per 256 values).

    Args:
        seeds: int `[N]` tensor of seeds in `[0, 2**32)`; others fail with `InvalidArgumentError`.
        dim: int, values per seed (the generator's `z_dim`).

    Returns:
        float32 tensor `[N, dim]`, equal to NumPy's draws cast to float32.

    Example:
    >>> z = randn_from_seeds(tf.constant([0, 7], tf.int64), 4)
    >>> np.allclose(z[1], np.random.RandomState(7).randn(4))
    True
    """
    seeds = tf.cast(seeds, tf.int64)
    with tf.control_dependencies([
        tf.debugging.assert_rank(seeds, 1, message="`seeds` must be a vector [N]"),
        tf.debugging.assert_non_negative(seeds, message=f"`seeds` must be in [0, {MAX_SEED}]"),
        tf.debugging.assert_less_equal(seeds, tf.constant(MAX_SEED, tf.int64),
                                       message=f"`seeds` must be in [0, {MAX_SEED}]"),
    ]):
        state = _seed_states(tf.identity(seeds))
    num_seeds, needed = tf.shape(seeds)[0], (dim + 1) // 2
    empty = tf.zeros([num_seeds, 0], tf.float64)

    def more_needed(state, x1, x2, radius2, accepted):
        return tf.reduce_min(tf.reduce_sum(tf.cast(accepted, tf.int32), axis=1)) < needed

    def twist_once(state, x1, x2, radius2, accepted):
        state = _twist(state)
        new = _candidate_pairs(_temper(state))
        return (state,) + tuple(tf.concat([old, add], axis=1) for old, add in zip((x1, x2, radius2, accepted), new))

    columns = tf.TensorShape([None, None])
    _, x1, x2, radius2, accepted = tf.while_loop(
        more_needed, twist_once, (state, empty, empty, empty, tf.zeros([num_seeds, 0], tf.bool)),
        shape_invariants=(state.shape, columns, columns, columns, columns))
    # The first `needed` accepted pairs of each seed, in draw order (a stable sort moves rejects last).
    order = tf.argsort(tf.cast(~accepted, tf.int32), axis=1, stable=True)[:, :needed]
    x1, x2, radius2 = (tf.gather(t, order, axis=1, batch_dims=1) for t in (x1, x2, radius2))
    scale = tf.sqrt(-2.0 * tf.math.log(radius2) / radius2)
    values = tf.reshape(tf.stack([scale * x2, scale * x1], axis=-1), [num_seeds, 2 * needed])[:, :dim]
    return tf.reshape(tf.cast(values, tf.float32), [-1, dim])
