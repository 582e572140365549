package io.pvecri.daemon.cgroup;

/** Converts cgroup v1 {@code cpu.shares} to cgroup v2 {@code cpu.weight}, exactly as runc does. */
final class CpuWeight {

    static final long MIN_SHARES = 2;
    static final long MAX_SHARES = 262_144;

    private CpuWeight() {
    }

    /**
     * Maps shares [2, 262144] linearly onto weight [1, 10000]:
     * {@code 1 + ((shares - 2) * 9999) / 262142}. Shares outside the range are clamped;
     * 0 stays 0 ("not set").
     */
    static long fromShares(long shares) {
        if (shares == 0) {
            return 0;
        }
        long clamped = Math.clamp(shares, MIN_SHARES, MAX_SHARES);
        return 1 + ((clamped - 2) * 9999) / 262_142;
    }
}
