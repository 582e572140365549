package io.pvecri.gpu;

/** Where a GPU share goes when several GPUs have room. */
public enum Placement {
    /** The lowest-index GPU with room: packs shares, keeps whole GPUs free. */
    FIRST_FIT,
    /** The GPU with the most room left: spreads load, fragments whole GPUs. */
    SPREAD
}
