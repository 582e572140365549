package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.FileTrees;

import java.nio.file.Path;
import java.util.Map;

/**
 * How a container's root file system is made from its image ({@code storage.format}, see
 * docs/storage.md). The image store keeps one unpacked tree per image; a format turns it into
 * what the backend mounts:
 * <ul>
 *   <li>{@link DirFormat}: the unpacked tree is the read-only overlay lower dir, each container
 *       gets an upper dir;</li>
 *   <li>{@link ZfsFormat}: a dataset per image filled from the tree and snapshotted, a
 *       {@code zfs clone} per container;</li>
 *   <li>{@link RawFormat}: an ext4 file per image built from the tree, loop-mounted read-only
 *       while containers use it, with an overlay upper dir per container.</li>
 * </ul>
 * Every method is safe to call from several threads; per-image work is serialised per image.
 * Nothing is left half-made: a failed {@link #prepare} undoes what it did.
 */
public sealed interface RootfsFormat permits DirFormat, ZfsFormat, RawFormat {
    /** {@code dir}, {@code zfs} or {@code raw}, as in the config. */
    String name();

    /**
     * Makes the root file system of a new container from its image (building the image's
     * artefact first if this is the image's first container).
     *
     * @param containerId the container's id (64 hex)
     * @param imageId     the image's id ({@code sha256:<hex>})
     * @param imageTree   the image's unpacked tree in the image store (read-only)
     */
    LaunchSpec.Rootfs prepare(String containerId, String imageId, Path imageTree) throws RootfsException;

    /** Removes what {@link #prepare} made for the container; the container must be stopped. Idempotent. */
    void release(String containerId) throws RootfsException;

    /**
     * Drops the image's artefact (dataset, ext4 file) after the image left the store. Idempotent;
     * fails with {@link RootfsException.Reason#IN_USE} while containers still use it.
     */
    void imageRemoved(String imageId) throws RootfsException;

    /**
     * At daemon start: brings the format's artefacts in line with the daemon's records. Artefacts
     * of containers and images not listed are removed (crash leftovers), those of listed ones are
     * mounted again where needed (after a host reboot).
     *
     * @param containers every container the daemon has a record of: id to image id
     * @param images     every image in the store: id to unpacked tree
     */
    void recover(Map<String, String> containers, Map<String, Path> images) throws RootfsException;

    /** The host path of the container's writable layer (ContainerStats' writable_layer mountpoint). */
    Path writableLayer(String containerId);

    /** Bytes and inodes the container has written (its writable layer). */
    FileTrees.Usage writableUsage(String containerId);

    /** Bytes and inodes of the per-image artefacts (besides the image store's own usage). */
    FileTrees.Usage imageUsage();

    /** Bytes and inodes of writable layers kept outside the daemon's containers directory. */
    FileTrees.Usage layersOutsideContainersDir();

    /** Told about every operation (for metrics); logging is the format's own. */
    @FunctionalInterface
    interface Observer {
        Observer NONE = (format, op, nanos, failure) -> { };

        /**
         * @param op      prepare, release, image_build, image_remove, recover
         * @param failure null when it succeeded
         */
        void done(String format, String op, long nanos, Throwable failure);
    }
}
