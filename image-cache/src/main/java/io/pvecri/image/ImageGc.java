package io.pvecri.image;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Image garbage collection over an {@link ImageStore}, in the background and on demand.
 * {@link GcPolicy} decides what goes; this class measures, runs and reports.
 *
 * <ul>
 *   <li>{@link GcTrigger#TAG_MOVED}: an image that lost its last tag to a newer image is removed
 *       as soon as no container uses it (right after the pull or import that moved the tag, or
 *       after its last container is removed).</li>
 *   <li>{@link GcTrigger#THRESHOLD}: when the image filesystem's usage reaches the high
 *       threshold, eligible images are removed in {@link GcPolicy#ORDER} until it is expected to
 *       be at the low threshold. Checked every {@link GcConfig#interval()} and after every pull
 *       and import.</li>
 *   <li>{@link GcTrigger#REMOVE_IMAGE}: CRI RemoveImage ({@link #removeImage}).</li>
 *   <li>{@link GcTrigger#MANUAL}: an operator's run ({@link #collectNow}).</li>
 * </ul>
 *
 * Runs never overlap (one lock); background work runs on one daemon thread, {@code image-gc}.
 * Each run is reported to the {@link GcListener}; each removed image also to the store's
 * {@link ImageRemovalListener}s.
 */
public final class ImageGc implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ImageGc.class.getName());

    private final ImageStore store;
    private final GcConfig config;
    private final DiskUsageSource disk;
    private final GcListener listener;
    private final ReentrantLock runLock = new ReentrantLock();
    private final AtomicBoolean wakeUpQueued = new AtomicBoolean();
    private volatile Executor wakeUps;
    private ScheduledExecutorService scheduler;

    public ImageGc(ImageStore store, GcConfig config, DiskUsageSource disk, GcListener listener) {
        this.store = Objects.requireNonNull(store, "store");
        this.config = Objects.requireNonNull(config, "config");
        this.disk = Objects.requireNonNull(disk, "disk");
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    public GcConfig config() {
        return config;
    }

    /**
     * Starts background collection: a check now (superseded images, then the threshold), every
     * interval, and whenever the store reports a change. Call once, after the store's reference
     * counts are right (after the daemon reconciled them with its containers).
     */
    public synchronized void start() {
        if (scheduler != null) {
            throw new IllegalStateException("image GC already started");
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("image-gc").unstarted(r));
        wakeUps = scheduler;
        store.onChange(this::wakeUp);
        scheduler.scheduleWithFixedDelay(this::background, 0, config.interval().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Tests: store changes run the background work on the changing thread; no timer. */
    void startInline() {
        wakeUps = Runnable::run;
        store.onChange(this::wakeUp);
    }

    private void wakeUp() {
        Executor e = wakeUps;
        if (e == null) {
            return;
        }
        if (wakeUpQueued.compareAndSet(false, true)) {
            try {
                e.execute(() -> {
                    wakeUpQueued.set(false);
                    background();
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                wakeUpQueued.set(false);
            }
        }
    }

    /** One background pass: superseded images, then the threshold. Never throws. */
    private void background() {
        try {
            collectSuperseded();
            checkThreshold();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "image GC pass failed", e);
            listener.gcFailed(GcTrigger.THRESHOLD, e.toString());
        }
    }

    /**
     * Removes every superseded image no container uses (trigger {@link GcTrigger#TAG_MOVED}).
     * Empty when there was none (no run is reported).
     */
    Optional<GcResult> collectSuperseded() {
        runLock.lock();
        try {
            long t0 = System.nanoTime();
            List<GcPolicy.Planned> plan = GcPolicy.plan(store.gcCandidates(), 0, true);
            if (plan.isEmpty()) {
                return Optional.empty();
            }
            return Optional.of(execute(GcTrigger.TAG_MOVED, plan, true, t0, null, 0, false));
        } finally {
            runLock.unlock();
        }
    }

    /**
     * Measures the image filesystem; at or above the high threshold, removes eligible images
     * down to the low one (trigger {@link GcTrigger#THRESHOLD}). Empty when below (no run).
     */
    Optional<GcResult> checkThreshold() {
        if (!config.thresholdEnabled()) {
            return Optional.empty();
        }
        runLock.lock();
        try {
            long t0 = System.nanoTime();
            DiskUsage before;
            try {
                before = disk.measure();
            } catch (IOException e) {
                listener.gcFailed(GcTrigger.THRESHOLD, "cannot measure the image filesystem of " + store.root() + ": " + e);
                return Optional.empty();
            }
            if (!GcPolicy.thresholdReached(config, before)) {
                return Optional.empty();
            }
            long wanted = before.bytesAbove(config.lowThresholdPercent());
            List<GcPolicy.Planned> plan = GcPolicy.plan(store.gcCandidates(), wanted, false);
            return Optional.of(execute(GcTrigger.THRESHOLD, plan, false, t0, before, wanted, false));
        } finally {
            runLock.unlock();
        }
    }

    /**
     * An operator's run (trigger {@link GcTrigger#MANUAL}): removes every superseded image no
     * container uses, then eligible images in order until the image filesystem is expected to
     * be at {@code targetPercent} (default: the low threshold; 0 removes every eligible image).
     *
     * @param dryRun plan only: nothing is removed or reported; the result lists what would go
     * @throws ImageStoreIoException the filesystem cannot be measured
     */
    public GcResult collectNow(OptionalInt targetPercent, boolean dryRun) throws ImageStoreIoException {
        int target = targetPercent.orElse(config.lowThresholdPercent());
        if (target < 0 || target > 100) {
            throw new IllegalArgumentException("target usage " + target + "% is out of range 0..100");
        }
        runLock.lock();
        try {
            long t0 = System.nanoTime();
            DiskUsage before;
            try {
                before = disk.measure();
            } catch (IOException e) {
                throw new ImageStoreIoException("cannot measure the image filesystem of " + store.root(), e);
            }
            long wanted = target == 0 ? Long.MAX_VALUE : before.bytesAbove(target);
            List<GcPolicy.Planned> plan = GcPolicy.plan(store.gcCandidates(), wanted, true);
            // target 0 means "every eligible image", not a usage to reach (metadata alone keeps a filesystem above 0 %)
            return execute(GcTrigger.MANUAL, plan, false, t0, before, target == 0 ? 0 : wanted, dryRun);
        } finally {
            runLock.unlock();
        }
    }

    /**
     * CRI RemoveImage (trigger {@link GcTrigger#REMOVE_IMAGE}): removes the image named by
     * {@code reference} (see {@link ImageStore#resolve}) and reports it as a run.
     *
     * @throws ImageNotFoundException nothing matches
     * @throws ImageInUseException    containers use it, or a pull or import of it is in progress
     * @throws ImageStoreIoException  its directory could not be moved away
     */
    public GcResult removeImage(String reference)
            throws ImageNotFoundException, ImageInUseException, ImageStoreIoException {
        runLock.lock();
        try {
            long t0 = System.nanoTime();
            GcResult.Removed r = store.removeReporting(reference);
            listener.imageCollected(GcTrigger.REMOVE_IMAGE, r.image(), r.reclaimedBytes());
            GcResult result = new GcResult(GcTrigger.REMOVE_IMAGE, false, List.of(r), r.reclaimedBytes(),
                    Duration.ofNanos(System.nanoTime() - t0), null, null, 0, List.of());
            listener.gcFinished(result);
            return result;
        } finally {
            runLock.unlock();
        }
    }

    /** Removes the planned images that are still eligible, measures again, reports. Caller holds the run lock. */
    private GcResult execute(GcTrigger trigger, List<GcPolicy.Planned> plan, boolean onlySuperseded, long t0,
                             DiskUsage before, long wanted, boolean dryRun) {
        List<GcResult.Removed> removed = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        long reclaimed = 0;
        if (dryRun) {
            for (GcPolicy.Planned p : plan) {
                ImageRecord r = store.resolve(p.image().id()).orElse(null);
                if (r != null) {
                    removed.add(new GcResult.Removed(r, p.estimatedBytes()));
                    reclaimed += p.estimatedBytes();
                }
            }
            return new GcResult(trigger, true, removed, reclaimed, Duration.ofNanos(System.nanoTime() - t0),
                    before, before, wanted, errors);
        }
        List<String> hexes = plan.stream().map(p -> p.image().id().substring(p.image().id().indexOf(':') + 1)).toList();
        ImageStore.Collected collected = store.collect(hexes, onlySuperseded);
        for (GcResult.Removed r : collected.removed()) {
            removed.add(r);
            reclaimed += r.reclaimedBytes();
            listener.imageCollected(trigger, r.image(), r.reclaimedBytes());
        }
        for (String e : collected.errors()) {
            errors.add(e);
            listener.gcFailed(trigger, e);
        }
        DiskUsage after = null;
        if (before != null) {
            try {
                after = disk.measure();
            } catch (IOException e) {
                listener.gcFailed(trigger, "cannot measure the image filesystem of " + store.root() + " after the run: " + e);
            }
        }
        GcResult result = new GcResult(trigger, false, removed, reclaimed, Duration.ofNanos(System.nanoTime() - t0),
                before, after, wanted, errors);
        listener.gcFinished(result);
        return result;
    }

    /** Stops background collection (a run in progress finishes). */
    @Override
    public synchronized void close() {
        wakeUps = null;
        if (scheduler != null) {
            scheduler.shutdown(); // cancels the periodic check; a run in progress finishes
            try {
                if (!scheduler.awaitTermination(30, TimeUnit.SECONDS)) {
                    LOG.log(System.Logger.Level.WARNING, "image GC thread did not stop within 30 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
