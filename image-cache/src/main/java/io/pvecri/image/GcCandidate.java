package io.pvecri.image;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * An image as garbage collection sees it: a snapshot of its record taken under the store's lock.
 *
 * @param id          {@code sha256:<hex>}
 * @param tagged      it has at least one repo tag (an untagged image is "dangling")
 * @param superseded  it lost its last tag to a newer image
 * @param references  containers using it
 * @param pinned      a pull or import of it is in progress
 * @param lastUsed    last container creation, pull or import of it
 * @param rootfsBytes bytes of its unpacked tree
 * @param blobs       every blob its record owns, digest to size in bytes; a blob shared by
 *                    several images appears in each of them
 */
record GcCandidate(String id, boolean tagged, boolean superseded, int references, boolean pinned,
                   Instant lastUsed, long rootfsBytes, Map<String, Long> blobs) {

    GcCandidate {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(lastUsed, "lastUsed");
        blobs = Map.copyOf(blobs);
    }

    /** Only images no container references and no pull or import holds may be removed. */
    boolean eligible() {
        return references == 0 && !pinned;
    }

    /** Disk the image occupies, counting shared blobs fully: the "size" of the ordering. */
    long footprintBytes() {
        return rootfsBytes + blobs.values().stream().mapToLong(Long::longValue).sum();
    }
}
