package io.pvecri.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The part of an import that runs without the store lock: verified ingestion of an image's blobs
 * and, for an image not yet in the store, unpacking its layers into a staged image directory
 * under the import's work directory, with each layer's DiffID checked against the config.
 */
final class ImportPreparer {

    private final BlobStore blobs;

    ImportPreparer(BlobStore blobs) {
        this.blobs = blobs;
    }

    /**
     * @param stagedImageDir {@code <work>/image-<hex>} holding {@code rootfs/}; null if the image
     *                       was already in the store and nothing was unpacked
     */
    record Prepared(ImageNaming.Named named, Path stagedImageDir, TreeUsage usage) {
    }

    /** Waits until layer {@code index} of a pull is in the blob store. */
    @FunctionalInterface
    interface LayerWait {
        void await(int index) throws ImageCacheException, IOException;
    }

    /**
     * For pulls: stores the metadata blobs and, if {@code work} is not null, unpacks the layers
     * from the blob store in order, each as soon as {@code wait} says it is there.
     *
     * @param work null when the image is already in the store (nothing is unpacked)
     */
    Prepared prepareStored(ImageNaming.Named named, Path work, String from, LayerWait wait)
            throws ImageCacheException, IOException {
        ImageCandidate c = named.candidate();
        for (ImageCandidate.MetaBlob m : c.metadata()) {
            blobs.put(m.digest(), m.content());
        }
        if (work == null) {
            return new Prepared(named, null, null);
        }
        Path imageDir = work.resolve("image-" + c.id().hex());
        Path rootfs = Files.createDirectories(imageDir.resolve(StoreLayout.ROOTFS_DIR));
        LayerUnpacker unpacker = new LayerUnpacker(rootfs);
        int count = c.layers().size();
        for (int i = 0; i < count; i++) {
            ImageCandidate.LayerRef l = c.layers().get(i);
            wait.await(i);
            String what = "layer " + (i + 1) + "/" + count + " " + l.digest() + " of image " + c.id() + " from " + from;
            Digest diffId = unpacker.apply(blobs.path(l.digest()), l.mediaType(), what);
            if (!diffId.equals(l.diffId())) {
                throw new InvalidImageException(what + ": uncompressed content has DiffID " + diffId
                        + " but the image config lists " + l.diffId() + " (rootfs.diff_ids[" + i
                        + "]); the image is corrupt or was modified");
            }
        }
        unpacker.finish();
        return new Prepared(named, imageDir, TreeUsage.of(rootfs));
    }

    Prepared prepare(ImageNaming.Named named, boolean unpack, ImportSource src, Path work)
            throws InvalidImageException, IOException {
        ImageCandidate c = named.candidate();
        for (ImageCandidate.MetaBlob m : c.metadata()) {
            blobs.put(m.digest(), m.content());
        }
        int count = c.layers().size();
        for (int i = 0; i < count; i++) {
            ImageCandidate.LayerRef l = c.layers().get(i);
            if (l.source().isPresent()) {
                SourceFile f = l.source().get();
                blobs.ingest(l.digest(), l.size(), f.path(), f.linkable(), "layer " + (i + 1) + "/" + count + " "
                        + l.digest() + " (" + f.name() + " in " + src.describe() + ")");
            } else if (!blobs.contains(l.digest())) {
                throw new InvalidImageException("layer " + l.digest() + " of image " + c.id() + " is not in "
                        + src.describe());
            }
        }
        if (!unpack) {
            return new Prepared(named, null, null);
        }
        Path imageDir = work.resolve("image-" + c.id().hex());
        Path rootfs = Files.createDirectories(imageDir.resolve(StoreLayout.ROOTFS_DIR));
        LayerUnpacker unpacker = new LayerUnpacker(rootfs);
        for (int i = 0; i < count; i++) {
            ImageCandidate.LayerRef l = c.layers().get(i);
            String what = "layer " + (i + 1) + "/" + count + " " + l.digest() + " of image " + c.id()
                    + " from " + src.describe();
            Digest diffId = unpacker.apply(blobs.path(l.digest()), l.mediaType(), what);
            if (!diffId.equals(l.diffId())) {
                throw new InvalidImageException(what + ": uncompressed content has DiffID " + diffId
                        + " but the image config lists " + l.diffId() + " (rootfs.diff_ids[" + i
                        + "]); the image is corrupt or was modified");
            }
        }
        unpacker.finish();
        return new Prepared(named, imageDir, TreeUsage.of(rootfs));
    }
}
