package io.pvecri.gpu;

import java.util.Optional;

/**
 * What is allocated and free on one GPU.
 *
 * @param wholeOwner           the container holding the whole GPU, if any
 * @param shares               how many shares are placed on it
 * @param memoryFreeMib        memory not reserved by shares (0 when held whole)
 * @param computeFreePercent   compute not reserved by shares (0 when held whole)
 */
public record GpuCapacity(int index, String uuid, long memoryTotalMib, long memoryFreeMib, int computeFreePercent,
                          Optional<String> wholeOwner, int shares) {

    /** Nothing allocated on it: it can be given whole. */
    public boolean isIdle() {
        return wholeOwner.isEmpty() && shares == 0;
    }

    /** {@code GPU 0 (GPU-…): 40960/81920 MiB, 70% compute free, 2 shares}, or who holds it whole. */
    public String describe() {
        String head = "GPU " + index + " (" + uuid + "): ";
        if (wholeOwner.isPresent()) {
            return head + "held whole by container " + wholeOwner.get();
        }
        return head + memoryFreeMib + "/" + memoryTotalMib + " MiB, " + computeFreePercent + "% compute free, "
                + shares + (shares == 1 ? " share" : " shares");
    }
}
