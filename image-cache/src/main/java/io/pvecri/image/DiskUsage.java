package io.pvecri.image;

/**
 * One measurement of the filesystem holding the image store, as statvfs reports it: capacity
 * ({@code f_blocks}) and space available to unprivileged users ({@code f_bavail}). Used space is
 * capacity minus available, as {@code df} and kubelet's image GC count it (root-reserved blocks
 * count as used).
 */
public record DiskUsage(long capacityBytes, long availableBytes) {

    public DiskUsage {
        if (capacityBytes < 0 || availableBytes < 0) {
            throw new IllegalArgumentException("negative disk usage figures: " + capacityBytes + ", " + availableBytes);
        }
    }

    public long usedBytes() {
        return Math.max(0, capacityBytes - availableBytes);
    }

    /** Used space in percent of the capacity (0 for a filesystem of no capacity). */
    public double usedPercent() {
        return capacityBytes == 0 ? 0 : usedBytes() * 100.0 / capacityBytes;
    }

    /** Bytes to free so that usage is at most {@code targetPercent}; 0 when it already is. */
    public long bytesAbove(int targetPercent) {
        if (targetPercent < 0 || targetPercent > 100) {
            throw new IllegalArgumentException("target " + targetPercent + "% is out of range 0..100");
        }
        // floor(capacity * target / 100) without overflow
        long allowed = capacityBytes / 100 * targetPercent + capacityBytes % 100 * targetPercent / 100;
        return Math.max(0, usedBytes() - allowed);
    }
}
