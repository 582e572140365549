package io.pvecri.image;

/**
 * Hears about every image the store removes, whatever removed it (CRI RemoveImage, garbage
 * collection of any trigger), so that parts keeping their own per-image artefacts (a rootfs
 * format's per-image dataset or image file, a backend's per-image template) can drop them.
 *
 * <p>Register with {@link ImageStore#addRemovalListener}. Called once per removed image, after
 * its record, rootfs and unshared blobs are gone, on the removing thread (an RPC thread or the
 * GC thread), without any store lock held: implementations may call the store, but must not
 * block for long (a GC run waits for them). An exception is logged and ignored; it does not undo
 * the removal. The image id is never reused for another image (it is the config digest), and no
 * container can reference a removed image (only unreferenced images are removed).
 *
 * <p>Not called for image directories dropped while the store opens (unusable leftovers of a
 * crash): a listener with persistent artefacts should, at start, drop those whose image id is
 * not in {@link ImageStore#list()}.
 */
@FunctionalInterface
public interface ImageRemovalListener {

    /** {@code image} was removed; {@code image.id()} is {@code sha256:<hex>}. */
    void imageRemoved(ImageRecord image);
}
