package io.pvecri.image;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The node's image store: imported images, their content-addressed blobs, and one unpacked,
 * read-only rootfs tree per image for containers to overlay.
 *
 * <p>Thread safety: all methods may be called concurrently. Record changes are serialised by one
 * lock; imports verify and unpack outside it (concurrently), and only their final commit takes
 * the lock. An import pins its image id and blobs so that a concurrent {@link #remove} neither
 * deletes blobs it is about to reference nor removes the image it is merging into.
 *
 * <p>Only one process may have a store open; {@link #open} takes a file lock on {@code root/lock}.
 *
 * <p>Removal: {@link #remove} (CRI RemoveImage) and garbage collection ({@link ImageGc}) remove
 * images; every removal is reported to the {@link ImageRemovalListener}s registered with
 * {@link #addRemovalListener}.
 */
public final class ImageStore implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ImageStore.class.getName());

    private final StoreLayout layout;
    private final BlobStore blobs;
    private final RecordFiles recordFiles;
    private final Clock clock;
    private final FileChannel lockChannel;
    private final FileLock fileLock;

    private final ReentrantLock lock = new ReentrantLock();
    /** Images by config digest hex. Guarded by {@link #lock}. */
    private final Map<String, StoredImage> images = new HashMap<>();
    /** Image ids (hex) and blobs that imports in progress rely on. Guarded by {@link #lock}. */
    private final Map<String, Integer> pinnedImages = new HashMap<>();
    private final Map<Digest, Integer> pinnedBlobs = new HashMap<>();
    private final List<ImageRemovalListener> removalListeners = new CopyOnWriteArrayList<>();
    /** Told (outside the lock) when garbage may have appeared: an image added, a superseded image released. */
    private volatile Runnable changeHint = () -> { };
    private volatile boolean closed;

    private ImageStore(StoreLayout layout, Clock clock, FileChannel lockChannel, FileLock fileLock) {
        this.layout = layout;
        this.blobs = new BlobStore(layout.blobs(), layout.tmp());
        this.recordFiles = new RecordFiles(layout);
        this.clock = clock;
        this.lockChannel = lockChannel;
        this.fileLock = fileLock;
    }

    /**
     * Opens (creating if needed) the store at {@code root}: loads persisted records, removes work
     * left by a crash ({@code tmp/}, image directories without a valid record or rootfs) and
     * blobs no image references.
     *
     * @throws ImageStoreIoException the directories cannot be created or read, or another
     *                               process has the store open
     */
    public static ImageStore open(Path root) throws ImageCacheException {
        return open(root, Clock.systemUTC());
    }

    static ImageStore open(Path root, Clock clock) throws ImageCacheException {
        Objects.requireNonNull(root, "root");
        StoreLayout layout = new StoreLayout(root.toAbsolutePath().normalize());
        FileChannel channel = null;
        try {
            layout.create();
            channel = FileChannel.open(layout.lockFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock fl;
            try {
                fl = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                fl = null;
            }
            if (fl == null) {
                throw new ImageStoreIoException("image store " + layout.root()
                        + " is already open (by another process or another ImageStore in this one)", null);
            }
            ImageStore store = new ImageStore(layout, clock, channel, fl);
            store.recover();
            LOG.log(System.Logger.Level.INFO, "image store {0}: {1} images", layout.root(), store.images.size());
            return store;
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ImageStoreIoException("cannot open image store " + layout.root(), e);
        } catch (ImageCacheException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private void recover() throws IOException {
        FileTrees.deleteChildren(layout.tmp());
        boolean unreadableRecords = false;
        for (RecordFiles.Loaded loaded : recordFiles.loadAll()) {
            switch (loaded) {
                case RecordFiles.Loaded.Ok ok -> images.put(ok.image().hex(), ok.image());
                case RecordFiles.Loaded.Broken broken -> {
                    LOG.log(System.Logger.Level.WARNING, "removing unusable image directory {0}: {1}",
                            broken.dir(), broken.reason());
                    FileTrees.deleteRecursively(broken.dir());
                }
                case RecordFiles.Loaded.Unreadable unreadable -> {
                    LOG.log(System.Logger.Level.ERROR, "ignoring image directory {0}: {1}; it is left in place, "
                            + "and unreferenced blobs are kept until it is fixed or removed",
                            unreadable.dir(), unreadable.reason());
                    unreadableRecords = true;
                }
            }
        }
        if (unreadableRecords) {
            return;
        }
        Set<Digest> referenced = new HashSet<>();
        images.values().forEach(i -> referenced.addAll(i.blobDigests()));
        int removed = 0;
        for (Digest d : blobs.list()) {
            if (!referenced.contains(d)) {
                blobs.delete(d);
                removed++;
            }
        }
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed {0} unreferenced blobs from {1}", removed, layout.blobs());
        }
    }

    /** The store's root directory. */
    public Path root() {
        return layout.root();
    }

    /**
     * Registers a listener told about every image removed from now on (see
     * {@link ImageRemovalListener} for when and on which thread). Register before serving
     * requests, e.g. in the daemon's composition root.
     */
    public void addRemovalListener(ImageRemovalListener listener) {
        removalListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Sets what to run when garbage may have appeared (the garbage collector's wake-up). */
    void onChange(Runnable hint) {
        changeHint = Objects.requireNonNull(hint, "hint");
    }

    private void hintChange() {
        try {
            changeHint.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "image GC wake-up failed: {0}", e.toString());
        }
    }

    /** All images, oldest import first. */
    public List<ImageRecord> list() {
        requireOpen();
        lock.lock();
        try {
            return images.values().stream()
                    .sorted(Comparator.comparing((StoredImage i) -> Instant.parse(i.importedAt())).thenComparing(StoredImage::id))
                    .map(StoredImage::toRecord)
                    .toList();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Finds an image by full id ({@code sha256:<hex>}), bare 64-hex id, unique id prefix (at
     * least 3 hex characters), name ({@code busybox}, {@code busybox:1.36},
     * {@code reg.local:5000/a/b:t}, normalised like Docker) or digest reference
     * ({@code name@sha256:...}).
     */
    public Optional<ImageRecord> resolve(String reference) {
        requireOpen();
        lock.lock();
        try {
            return ReferenceMatcher.resolve(images.values(), reference).map(StoredImage::toRecord);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Imports the images of an OCI image layout directory, an OCI archive tar, or a docker-archive
     * tar (optionally gzip-compressed). Every blob is verified against its digest and size and
     * every layer's DiffID against the config; each new image's layers are unpacked once. Either
     * all images of the source are imported or, on failure, nothing is left behind.
     *
     * <p>Names: the names recorded in the source are applied; {@code name}, if given, is added
     * as a tag when the source holds one image (tag-only {@code org.opencontainers.image.ref.name}
     * annotations are combined with its repository). Re-importing an image only adds names;
     * a tag that points to another image moves to the imported one.
     *
     * @return the imported images, in source order, with their current records
     * @throws InvalidImageException  the source is malformed, corrupt or hostile
     * @throws ImageStoreIoException  the store's disk I/O failed
     */
    public List<ImageRecord> importImage(Path fileOrDir, Optional<String> name) throws ImageCacheException {
        requireOpen();
        Objects.requireNonNull(fileOrDir, "fileOrDir");
        Objects.requireNonNull(name, "name");
        Path source = fileOrDir.toAbsolutePath();
        Path work;
        try {
            work = layout.newWorkDir("import");
        } catch (IOException e) {
            throw new ImageStoreIoException("cannot create a work directory under " + layout.tmp(), e);
        }
        Set<String> myImages = new HashSet<>();
        Set<Digest> myBlobs = new HashSet<>();
        try {
            ImportSource src = ImportSource.open(source, work);
            List<ImageCandidate> candidates = SourceReader.read(src, blobs::contains);
            List<ImageNaming.Named> named = ImageNaming.apply(candidates, name, src.describe());
            Set<String> toUnpack = pin(named, myImages, myBlobs);
            ImportPreparer preparer = new ImportPreparer(blobs);
            List<ImportPreparer.Prepared> prepared = new ArrayList<>();
            for (ImageNaming.Named n : named) {
                prepared.add(preparer.prepare(n, toUnpack.contains(n.candidate().id().hex()), src, work));
            }
            return commit(prepared);
        } catch (IOException e) {
            throw new ImageStoreIoException("importing " + source + " into " + layout.root() + " failed", e);
        } finally {
            unpin(myImages, myBlobs);
            try {
                FileTrees.deleteRecursively(work);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot remove import work directory {0}: {1}", work, e);
            }
        }
    }

    /** Pins ids and blobs; returns the ids (hex) not yet in the store, which must be unpacked. */
    private Set<String> pin(List<ImageNaming.Named> named, Set<String> myImages, Set<Digest> myBlobs) {
        lock.lock();
        try {
            Set<String> toUnpack = new HashSet<>();
            for (ImageNaming.Named n : named) {
                String hex = n.candidate().id().hex();
                if (myImages.add(hex)) {
                    pinnedImages.merge(hex, 1, Integer::sum);
                }
                for (Digest d : n.candidate().blobs()) {
                    if (myBlobs.add(d)) {
                        pinnedBlobs.merge(d, 1, Integer::sum);
                    }
                }
                if (!images.containsKey(hex)) {
                    toUnpack.add(hex);
                }
            }
            return toUnpack;
        } finally {
            lock.unlock();
        }
    }

    // ---- hooks for RegistryPuller (same package) ----------------------------------------------

    BlobStore blobStore() {
        return blobs;
    }

    /** A fresh private work directory under tmp/ (removed at the next open if left behind). */
    Path newWorkDir(String purpose) throws ImageStoreIoException {
        requireOpen();
        try {
            return layout.newWorkDir(purpose);
        } catch (IOException e) {
            throw new ImageStoreIoException("cannot create a work directory under " + layout.tmp(), e);
        }
    }

    /** Pins a blob for a pull (recorded in {@code mine}), so that no removal deletes it meanwhile. */
    void pinBlob(Set<Digest> mine, Digest d) {
        lock.lock();
        try {
            if (mine.add(d)) {
                pinnedBlobs.merge(d, 1, Integer::sum);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Pins an image id for a pull; returns true if the store already has the image. */
    boolean pinImage(Set<String> mine, String hex) {
        lock.lock();
        try {
            if (mine.add(hex)) {
                pinnedImages.merge(hex, 1, Integer::sum);
            }
            return images.containsKey(hex);
        } finally {
            lock.unlock();
        }
    }

    /** Releases a pull's pins; blobs it brought in that no image uses are deleted. */
    void release(Set<String> myImages, Set<Digest> myBlobs) {
        unpin(myImages, myBlobs);
    }

    /** Commits a pulled image prepared like an import (see {@link #importImage}). */
    ImageRecord commitPulled(ImportPreparer.Prepared prepared) throws ImageStoreIoException {
        requireOpen();
        try {
            return commit(List.of(prepared)).getFirst();
        } catch (IOException e) {
            throw new ImageStoreIoException("cannot store pulled image " + prepared.named().candidate().id()
                    + " in " + layout.root(), e);
        }
    }

    /** Releases pins; blobs this import brought in that no image ended up using are deleted. */
    private void unpin(Set<String> myImages, Set<Digest> myBlobs) {
        lock.lock();
        try {
            myImages.forEach(hex -> pinnedImages.computeIfPresent(hex, (k, v) -> v == 1 ? null : v - 1));
            myBlobs.forEach(d -> pinnedBlobs.computeIfPresent(d, (k, v) -> v == 1 ? null : v - 1));
            Set<Digest> unused = new HashSet<>(myBlobs);
            unused.removeAll(pinnedBlobs.keySet());
            images.values().forEach(i -> unused.removeAll(i.blobDigests()));
            for (Digest d : unused) {
                try {
                    blobs.delete(d);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot delete unused blob {0}: {1}", d, e);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private List<ImageRecord> commit(List<ImportPreparer.Prepared> prepared) throws IOException {
        if (prepared.stream().anyMatch(p -> p.stagedImageDir() != null)) {
            try {
                Posix.syncfs(layout.root());
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "syncfs({0}) failed, unpacked files may not be durable yet: {1}",
                        layout.root(), e.getMessage());
            }
        }
        List<ImageRecord> committed;
        lock.lock();
        try {
            String now = clock.instant().toString();
            List<String> order = new ArrayList<>();
            for (ImportPreparer.Prepared p : prepared) {
                ImageCandidate c = p.named().candidate();
                String hex = c.id().hex();
                List<String> tags = p.named().repoTags();
                moveTagsAway(tags, hex);
                StoredImage existing = images.get(hex);
                if (existing == null) {
                    if (p.stagedImageDir() == null) {
                        throw new IllegalStateException("image " + c.id() + " vanished while pinned");
                    }
                    StoredImage created = new StoredImage(StoredImage.SCHEMA_VERSION, c.id().toString(), tags,
                            p.named().repoDigests(), c.size(), ConfigMapping.toImageConfig(c.config()), c.platform(),
                            0, now, now, c.blobs().stream().map(Digest::toString).toList(),
                            p.usage().bytes(), p.usage().inodes(), false);
                    RecordFiles.writeInto(p.stagedImageDir(), created);
                    Files.move(p.stagedImageDir(), layout.imageDir(hex), StandardCopyOption.ATOMIC_MOVE);
                    images.put(hex, created);
                    LOG.log(System.Logger.Level.INFO, "imported image {0} {1}", c.id(), tags);
                } else {
                    // a pull or import of a present image counts as a use (LRU) and wants it kept
                    StoredImage merged = existing.merged(tags, p.named().repoDigests(), c.blobs(), clock.instant());
                    recordFiles.write(merged);
                    images.put(hex, merged);
                    LOG.log(System.Logger.Level.INFO, "image {0} already present, names now {1}",
                            c.id(), merged.repoTags());
                }
                order.add(hex);
            }
            FileTrees.fsyncDirectory(layout.images());
            committed = new ArrayList<>(new LinkedHashSet<>(order)).stream().map(h -> images.get(h).toRecord()).toList();
        } finally {
            lock.unlock();
        }
        hintChange();
        return committed;
    }

    /**
     * Removes the given tags from every image other than {@code hex}; one that loses its last tag
     * is marked superseded. Caller holds the lock.
     */
    private void moveTagsAway(List<String> tags, String hex) throws IOException {
        for (StoredImage other : List.copyOf(images.values())) {
            if (other.hex().equals(hex)) {
                continue;
            }
            StoredImage updated = other;
            for (String t : tags) {
                if (updated.repoTags().contains(t)) {
                    updated = updated.withoutTag(t);
                    LOG.log(System.Logger.Level.INFO, "tag {0} moves from image {1} to sha256:{2}", t, other.id(), hex);
                }
            }
            if (updated != other) {
                recordFiles.write(updated);
                images.put(updated.hex(), updated);
            }
        }
    }

    /**
     * The unpacked root file system of an image. Callers must treat it as read-only (overlay it).
     *
     * @param imageId {@code sha256:<hex>} or the bare 64 hex characters
     */
    public Path rootfs(String imageId) throws ImageNotFoundException {
        requireOpen();
        String hex = ReferenceMatcher.idHex(imageId).orElseThrow(() -> new ImageNotFoundException(imageId));
        lock.lock();
        try {
            if (!images.containsKey(hex)) {
                throw new ImageNotFoundException(imageId);
            }
            return layout.rootfs(hex);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records that a container uses the image: references+1, lastUsed=now, persisted. A failure
     * to persist is logged (counts are re-established by {@link #reconcileReferences} at start).
     */
    public ImageRecord acquire(String imageId) throws ImageNotFoundException {
        requireOpen();
        String hex = ReferenceMatcher.idHex(imageId).orElseThrow(() -> new ImageNotFoundException(imageId));
        lock.lock();
        try {
            StoredImage s = images.get(hex);
            if (s == null) {
                throw new ImageNotFoundException(imageId);
            }
            return update(s.withReferences(s.references() + 1, clock.instant())).toRecord();
        } finally {
            lock.unlock();
        }
    }

    /**
     * references-1 (never below 0), persisted; an unknown id is ignored. An image that lost its
     * last tag to a newer one and is now unreferenced becomes garbage (see {@link ImageGc}).
     */
    public void release(String imageId) {
        requireOpen();
        Optional<String> hex = ReferenceMatcher.idHex(imageId);
        if (hex.isEmpty()) {
            return;
        }
        boolean garbage = false;
        lock.lock();
        try {
            StoredImage s = images.get(hex.get());
            if (s != null && s.references() > 0) {
                StoredImage u = update(s.withReferences(s.references() - 1, null));
                garbage = u.references() == 0 && u.superseded();
            }
        } finally {
            lock.unlock();
        }
        if (garbage) {
            hintChange();
        }
    }

    /**
     * Sets every image's reference count from the daemon's container records (image id, full
     * or bare hex, to number of containers); images not in the map get 0.
     */
    public void reconcileReferences(Map<String, Integer> actual) {
        requireOpen();
        Map<String, Integer> byHex = new HashMap<>();
        actual.forEach((id, n) -> {
            Optional<String> hex = ReferenceMatcher.idHex(id);
            if (hex.isPresent()) {
                byHex.merge(hex.get(), Math.max(0, n == null ? 0 : n), Integer::sum);
            } else {
                LOG.log(System.Logger.Level.WARNING, "reconcileReferences: ignoring malformed image id {0}", id);
            }
        });
        lock.lock();
        try {
            for (String unknown : byHex.keySet()) {
                if (!images.containsKey(unknown)) {
                    LOG.log(System.Logger.Level.WARNING, "containers reference image sha256:{0}, which is not in the store",
                            unknown);
                }
            }
            for (StoredImage s : List.copyOf(images.values())) {
                int want = byHex.getOrDefault(s.hex(), 0);
                if (s.references() != want) {
                    update(s.withReferences(want, null));
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private StoredImage update(StoredImage s) {
        images.put(s.hex(), s);
        try {
            recordFiles.write(s);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot persist record of image {0} ({1}); kept in memory", s.id(), e);
        }
        return s;
    }

    /**
     * Removes an image (all its names), its rootfs, and the blobs no other image uses; then tells
     * the {@link ImageRemovalListener}s.
     *
     * @throws ImageNotFoundException nothing matches {@code reference} (see {@link #resolve})
     * @throws ImageInUseException    containers still reference it, or an import of it is in progress
     * @throws ImageStoreIoException  the image directory could not be moved away
     */
    public ImageRecord remove(String reference)
            throws ImageNotFoundException, ImageInUseException, ImageStoreIoException {
        return removeReporting(reference).image();
    }

    /** {@link #remove}, with the bytes the removal freed. */
    GcResult.Removed removeReporting(String reference)
            throws ImageNotFoundException, ImageInUseException, ImageStoreIoException {
        requireOpen();
        Detached detached;
        lock.lock();
        try {
            StoredImage removed = ReferenceMatcher.resolve(images.values(), reference)
                    .orElseThrow(() -> new ImageNotFoundException(reference));
            if (removed.references() > 0) {
                throw new ImageInUseException(removed.id(), removed.references(),
                        removed.references() + " container(s) use it; remove them first");
            }
            if (pinnedImages.containsKey(removed.hex())) {
                throw new ImageInUseException(removed.id(), 0, "an import of this image is in progress; retry later");
            }
            Detachment d = detachAll(List.of(removed));
            if (!d.failures().isEmpty()) {
                throw d.failures().getFirst();
            }
            detached = d.detached().getFirst();
        } finally {
            lock.unlock();
        }
        return finishRemoval(detached);
    }

    /** What a garbage collection removal did: the images removed, in order, and the failures. */
    record Collected(List<GcResult.Removed> removed, List<String> errors) {
    }

    /**
     * Garbage collection's removal: removes, in order, those of the images (64-hex ids) that are
     * still eligible now (no container references it, no pull or import holds it, and, with
     * {@code onlySuperseded}, it is still superseded); the others changed since the snapshot
     * and are skipped. One directory fsync covers all of them.
     */
    Collected collect(List<String> hexes, boolean onlySuperseded) {
        requireOpen();
        Detachment detachment;
        lock.lock();
        try {
            List<StoredImage> eligible = new ArrayList<>();
            for (String hex : new LinkedHashSet<>(hexes)) {
                StoredImage s = images.get(hex);
                if (s != null && s.references() == 0 && !pinnedImages.containsKey(hex) && (!onlySuperseded || s.superseded())) {
                    eligible.add(s);
                }
            }
            detachment = detachAll(eligible);
        } finally {
            lock.unlock();
        }
        List<GcResult.Removed> removed = new ArrayList<>();
        for (Detached d : detachment.detached()) {
            removed.add(finishRemoval(d));
        }
        return new Collected(removed, detachment.failures().stream().map(Throwable::getMessage).toList());
    }

    /** Every image as garbage collection sees it, with blob sizes. */
    List<GcCandidate> gcCandidates() {
        requireOpen();
        lock.lock();
        try {
            Map<Digest, Long> sizes = new HashMap<>();
            List<GcCandidate> out = new ArrayList<>();
            for (StoredImage s : images.values()) {
                Map<String, Long> blobSizes = new HashMap<>();
                for (Digest d : s.blobDigests()) {
                    blobSizes.put(d.toString(), sizes.computeIfAbsent(d, this::blobSizeOrZero));
                }
                out.add(new GcCandidate(s.id(), !s.untagged(), s.superseded(), s.references(),
                        pinnedImages.containsKey(s.hex()), Instant.parse(s.lastUsed()), s.rootfsBytes(), blobSizes));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    private long blobSizeOrZero(Digest d) {
        try {
            return blobs.size(d);
        } catch (IOException e) {
            return 0;
        }
    }

    /** An image taken out of the store whose tree still has to be deleted. */
    private record Detached(StoredImage image, Path trash, long blobBytes) {
    }

    /** Images taken out, in order, and those whose directory could not be moved away (still in the store). */
    private record Detachment(List<Detached> detached, List<ImageStoreIoException> failures) {
    }

    /**
     * Takes images out of the store: each one's directory is moved to tmp/ (atomically; one fsync
     * of images/ for all), its record forgotten, and the blobs no remaining image uses and no
     * import holds are deleted (a blob is counted for the image whose removal frees it). Caller
     * holds the lock and has checked that the images may go.
     */
    private Detachment detachAll(List<StoredImage> toRemove) {
        List<StoredImage> moved = new ArrayList<>();
        List<Path> trashes = new ArrayList<>();
        List<ImageStoreIoException> failures = new ArrayList<>();
        for (StoredImage s : toRemove) {
            Path trash = layout.tmp().resolve("remove-" + s.hex() + "-" + System.nanoTime());
            try {
                Files.move(layout.imageDir(s.hex()), trash, StandardCopyOption.ATOMIC_MOVE);
                moved.add(s);
                trashes.add(trash);
            } catch (IOException e) {
                failures.add(new ImageStoreIoException("cannot remove image " + s.id() + " from " + layout.images(), e));
            }
        }
        if (!moved.isEmpty()) {
            try {
                FileTrees.fsyncDirectory(layout.images());
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "fsync of {0} failed after removing images; a crash now could "
                        + "bring their directories back (removed again as unusable at the next open): {1}", layout.images(), e);
            }
        }
        List<Detached> out = new ArrayList<>();
        for (int i = 0; i < moved.size(); i++) {
            StoredImage removed = moved.get(i);
            images.remove(removed.hex());
            Set<Digest> unused = new HashSet<>(removed.blobDigests());
            unused.removeAll(pinnedBlobs.keySet());
            images.values().forEach(img -> unused.removeAll(img.blobDigests()));
            long blobBytes = 0;
            for (Digest d : unused) {
                try {
                    long size = blobs.size(d);
                    blobs.delete(d);
                    blobBytes += size;
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot delete blob {0} (removed at next open): {1}", d, e);
                }
            }
            out.add(new Detached(removed, trashes.get(i), blobBytes));
        }
        return new Detachment(out, failures);
    }

    /** Deletes a detached image's tree (outside the lock) and tells the removal listeners. */
    private GcResult.Removed finishRemoval(Detached d) {
        try {
            FileTrees.deleteRecursively(d.trash());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete {0} (removed at next open): {1}", d.trash(), e);
        }
        ImageRecord record = d.image().toRecord();
        LOG.log(System.Logger.Level.INFO, "removed image {0} {1}", record.id(), record.repoTags());
        for (ImageRemovalListener l : removalListeners) {
            try {
                l.imageRemoved(record);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "image removal listener {0} failed for {1}: {2}",
                        l, record.id(), e.toString());
            }
        }
        return new GcResult.Removed(record, d.image().rootfsBytes() + d.blobBytes());
    }

    /**
     * Space used by the store: unpacked trees plus blobs. Computed from sizes recorded at
     * import and a listing of the blob directory, so it is cheap to call often.
     */
    public FsUsage usage() {
        requireOpen();
        long bytes = 0;
        long inodes = 4; // root, blobs/sha256, images, tmp
        lock.lock();
        try {
            for (StoredImage s : images.values()) {
                bytes += s.rootfsBytes();
                inodes += s.rootfsInodes() + 2; // image dir and record
            }
        } finally {
            lock.unlock();
        }
        try {
            for (Digest d : blobs.list()) {
                try {
                    bytes += blobs.size(d);
                    inodes++;
                } catch (IOException e) {
                    // removed concurrently
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot list blobs for usage: {0}", e.toString());
        }
        return new FsUsage(layout.root(), bytes, inodes);
    }

    /** Releases the store's file lock. Further calls fail with IllegalStateException. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            fileLock.release();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot release lock of {0}: {1}", layout.lockFile(), e);
        }
        closeQuietly(lockChannel);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("image store " + layout.root() + " is closed");
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing useful to do
            }
        }
    }
}
