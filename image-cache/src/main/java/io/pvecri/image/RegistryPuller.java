package io.pvecri.image;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * Pulls images from registries (Docker Registry HTTP API v2 / OCI distribution) into an
 * {@link ImageStore}, where they live exactly like imported images.
 *
 * <p>A pull resolves the reference with a HEAD on the manifest (GET where HEAD is not
 * answered), chooses the configured platform from an index or manifest list, and fetches only
 * what the store lacks: manifests, config and layers already stored are read locally, so a pull
 * of an image already present transfers no blob. Every blob is verified against its digest and
 * size while it streams. Layers download in parallel (bounded) and unpack in order as they
 * arrive. Concurrent pulls of the same manifest wait for the first and then find everything
 * local; concurrent pulls of different images that share a layer download it once.
 *
 * <p>Names: {@code repository:tag} becomes a repo tag (moved away from any older image) and
 * {@code repository@<manifest or index digest>} a repo digest; a reference with a digest adds no
 * tag (as containerd). A failed pull leaves nothing behind.
 *
 * <p>Thread safety: {@link #pull} may be called concurrently.
 */
public final class RegistryPuller implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RegistryPuller.class.getName());
    private static final String ATTESTATION_TYPE = "vnd.docker.reference.type";
    private static final int BLOB_ATTEMPTS = 2;

    private final ImageStore store;
    private final RegistryConfig config;
    private final PullListener listener;
    private final RegistryClient client;
    private final Map<Digest, CompletableFuture<Void>> manifestFlights = new ConcurrentHashMap<>();
    private final Map<Digest, CompletableFuture<Void>> blobFlights = new ConcurrentHashMap<>();

    public RegistryPuller(ImageStore store, RegistryConfig config, PullListener listener) {
        this.store = java.util.Objects.requireNonNull(store, "store");
        this.config = java.util.Objects.requireNonNull(config, "config");
        this.listener = listener == null ? PullListener.NONE : listener;
        this.client = new RegistryClient(config);
    }

    public RegistryConfig config() {
        return config;
    }

    /**
     * Pulls an image and returns its record (id = config digest) with what the pull did.
     *
     * @param reference e.g. {@code busybox}, {@code reg.local:5000/a/b:1}, {@code name@sha256:...},
     *                  {@code name:tag@sha256:...}
     * @throws ImageNotFoundException the registry has no such manifest (or no image for the
     *                                configured platform), or lacks one of its blobs
     * @throws RegistryException      auth, rate limit, server, network or timeout failures
     * @throws InvalidImageException  bad reference, schema 1, corrupt or hostile content
     * @throws ImageStoreIoException  the store's disk I/O failed
     */
    public PullResult pull(String reference, RegistryAuth auth) throws ImageCacheException {
        long t0 = System.nanoTime();
        String shown = reference;
        try {
            ImageReference ref = ImageReference.parse(reference);
            shown = ref.normalized();
            listener.pullStarted(shown);
            PullContext ctx = new PullContext(shown, auth == null ? RegistryAuth.ANONYMOUS : auth,
                    config.progressTimeout(), config.pullTimeout());
            PullResult r = pull(ref, ctx, t0);
            LOG.log(System.Logger.Level.DEBUG, "pulled {0}: image {1}, {2} bytes, {3} layers fetched, {4} reused, {5} ms",
                    shown, r.image().id(), r.bytesFetched(), r.layersFetched(), r.layersReused(), r.elapsed().toMillis());
            listener.pullFinished(r);
            return r;
        } catch (ImageCacheException e) {
            listener.pullFailed(shown, reasonOf(e), e, Duration.ofNanos(System.nanoTime() - t0));
            throw e;
        } catch (RuntimeException e) {
            ImageStoreIoException wrapped = new ImageStoreIoException("pulling " + shown + " failed unexpectedly: " + e,
                    new IOException(e));
            listener.pullFailed(shown, "io", wrapped, Duration.ofNanos(System.nanoTime() - t0));
            throw e;
        }
    }

    /** The metric label of a failure: a {@link RegistryException.Reason} label, not_found, invalid or io. */
    public static String reasonOf(ImageCacheException e) {
        return switch (e) {
            case RegistryException r -> r.reason().label();
            case ImageNotFoundException n -> "not_found";
            case InvalidImageException i -> "invalid";
            case ImageInUseException u -> "in_use";
            case ImageStoreIoException io -> "io";
        };
    }

    // ---- resolve ----------------------------------------------------------------------------

    private record Resolution(RegistryClient.Endpoint endpoint, Digest digest, Long size, byte[] bytes,
                              String contentType) {
    }

    private PullResult pull(ImageReference ref, PullContext ctx, long t0) throws ImageCacheException {
        List<RegistryClient.Endpoint> endpoints = client.endpoints(ref);
        Digest pinned = ref.digest().isPresent() ? Digest.parse(ref.digest().get(), "reference " + ref) : null;
        String tagOrDigest = pinned != null ? pinned.toString() : ref.tag().orElseThrow();
        Resolution res = resolve(endpoints, ref, ctx, tagOrDigest, pinned);

        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> other;
        while ((other = manifestFlights.putIfAbsent(res.digest(), mine)) != null) {
            awaitQuietly(other, ctx, res.endpoint().authority());
        }
        try {
            return pullResolved(ref, ctx, res, endpoints, t0);
        } finally {
            manifestFlights.remove(res.digest(), mine);
            mine.complete(null);
        }
    }

    private Resolution resolve(List<RegistryClient.Endpoint> endpoints, ImageReference ref, PullContext ctx,
                               String tagOrDigest, Digest pinned) throws ImageCacheException {
        ImageCacheException last = null;
        for (RegistryClient.Endpoint ep : endpoints) {
            try {
                RegistryClient.Head head = client.headManifest(ep, ref, ctx, tagOrDigest);
                if (head != null) {
                    if (pinned != null && !head.digest().equals(pinned)) {
                        throw new InvalidImageException("manifest " + ref + " from " + ep + " has digest " + head.digest()
                                + ", not the one the reference pins");
                    }
                    return new Resolution(ep, head.digest(), head.size(), null,
                            head.contentType() == null ? null : RegistryClient.mediaTypeOf(head.contentType()));
                }
                RegistryClient.Fetched f = client.getManifest(ep, ref, ctx, tagOrDigest, pinned, null);
                return new Resolution(ep, f.digest(), (long) f.bytes().length, f.bytes(), f.contentType());
            } catch (ImageCacheException e) {
                if (!ep.mirror()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "{0}: {1}; trying the next endpoint", ep, e.getMessage());
                last = e;
            }
        }
        throw last; // not reached: the registry itself is always the last endpoint
    }

    private static void awaitQuietly(CompletableFuture<Void> f, PullContext ctx, String registry)
            throws ImageCacheException {
        try {
            f.get();
        } catch (ExecutionException e) {
            // the other pull failed; this one tries on its own
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(RegistryException.Reason.NETWORK, registry,
                    "pulling " + ctx.reference + " was interrupted");
        }
        ctx.checkDeadline(registry);
    }

    // ---- the pull ---------------------------------------------------------------------------

    private PullResult pullResolved(ImageReference ref, PullContext ctx, Resolution res,
                                    List<RegistryClient.Endpoint> endpoints, long t0) throws ImageCacheException {
        Set<String> myImages = new HashSet<>();
        Set<Digest> myBlobs = new HashSet<>();
        Path work = null;
        ExecutorService pool = null;
        List<Future<Boolean>> downloads = new ArrayList<>();
        BlobStore blobs = store.blobStore();
        Sources sources = new Sources(endpoints, res.endpoint());
        try {
            // 1. index / manifest list -> manifest, all verified, local ones read from the store
            List<ImageCandidate.MetaBlob> meta = new ArrayList<>();
            store.pinBlob(myBlobs, res.digest());
            byte[] doc = res.bytes() != null && !blobs.contains(res.digest()) ? res.bytes()
                    : document(sources, ref, ctx, res.digest(), res.size(), "manifest " + ref);
            Digest docDigest = res.digest();
            String docType = res.contentType();
            for (int depth = 0; ; depth++) {
                JsonNode probe = probe(doc, docDigest, ref);
                String mediaType = probe.path("mediaType").isTextual() ? probe.get("mediaType").asText() : docType;
                if (isSchema1(probe, mediaType)) {
                    throw new InvalidImageException(ref + " (" + docDigest + ") is a Docker schema 1 image, which "
                            + "pve-cri does not support (deprecated by Docker in 2015-2017 and removed from containerd 2.0); "
                            + "rebuild and push it with a current docker/buildah/skopeo (schema 2 or OCI)");
                }
                if (!isIndex(probe, mediaType)) {
                    break;
                }
                if (depth >= Limits.MAX_INDEX_DEPTH) {
                    throw new InvalidImageException("index " + docDigest + " of " + ref + ": indexes nested deeper than "
                            + Limits.MAX_INDEX_DEPTH);
                }
                meta.add(new ImageCandidate.MetaBlob(docDigest, doc));
                Oci.Descriptor child = choose(Json.parse(doc, Oci.Index.class, "index " + docDigest + " of " + ref),
                        docDigest, ref);
                Digest childDigest = Digest.parse(child.digest(), "index " + docDigest + " entry");
                long childSize = CandidateBuilder.requireSize(child, "index " + docDigest + " entry " + childDigest);
                if (childSize > Limits.MAX_JSON_BYTES) {
                    throw Json.tooBig("manifest " + childDigest + " of " + ref, childSize);
                }
                store.pinBlob(myBlobs, childDigest);
                doc = document(sources, ref, ctx, childDigest, childSize, "manifest " + childDigest + " of " + ref);
                docDigest = childDigest;
                docType = child.mediaType();
            }
            Oci.Manifest manifest = Json.parse(doc, Oci.Manifest.class, "manifest " + docDigest + " of " + ref);
            meta.add(new ImageCandidate.MetaBlob(docDigest, doc));

            // 2. config (validated with the manifest by the import code)
            String from = ref.repository() + " at " + sources.preferred;
            CandidateBuilder builder = new CandidateBuilder(from);
            ImageCandidate c = builder.fromManifest(manifest, "manifest " + docDigest, res.digest(), meta, List.of(),
                    (d, size, what) -> {
                        store.pinBlob(myBlobs, d);
                        return configBytes(sources, ref, ctx, d, size, what);
                    }, layer -> Optional.empty());
            if (!c.platform().isEmpty() && !config.platform().matches(c.config().os(), c.config().architecture(),
                    c.config().variant())) {
                LOG.log(System.Logger.Level.WARNING, "{0}: image {1} is for {2}, not {3}", ref, c.id(), c.platform(),
                        config.platform());
            }

            // 3. layers: what the store lacks is downloaded, in parallel; unpacked in order
            boolean exists = store.pinImage(myImages, c.id().hex());
            c.layers().forEach(l -> store.pinBlob(myBlobs, l.digest()));
            List<String> tags = ref.digest().isPresent() ? List.of() : ref.taggedName().map(List::of).orElse(List.of());
            ImageNaming.Named named = new ImageNaming.Named(c, tags, List.of(ref.repository() + "@" + res.digest()));
            ImportPreparer preparer = new ImportPreparer(blobs);
            ImportPreparer.Prepared prepared;
            int layerCount = c.layers().size();
            if (exists) {
                prepared = preparer.prepareStored(named, null, from, i -> { });
            } else {
                work = store.newWorkDir("pull");
                pool = Executors.newVirtualThreadPerTaskExecutor();
                Semaphore slots = new Semaphore(config.maxConcurrentDownloads());
                for (int i = 0; i < layerCount; i++) {
                    ImageCandidate.LayerRef l = c.layers().get(i);
                    String what = "layer " + (i + 1) + "/" + layerCount + " " + l.digest() + " of " + ref;
                    downloads.add(pool.submit(() -> obtainBlob(sources, ref, ctx, l.digest(), l.size(), what, slots)));
                }
                prepared = preparer.prepareStored(named, work, from, i -> awaitDownload(downloads.get(i), ctx, sources));
            }
            ImageRecord record = store.commitPulled(prepared);
            int fetched = (int) ctx.layersFetched.get();
            return new PullResult(ref.normalized(), record, res.digest().toString(), ctx.bytesFetched.get(), fetched,
                    layerCount - fetched, exists, Duration.ofNanos(System.nanoTime() - t0));
        } catch (Carrier c) {
            throw c.failure;
        } catch (IOException e) {
            throw new ImageStoreIoException("pulling " + ref + " into " + store.root() + " failed", e);
        } finally {
            downloads.forEach(f -> f.cancel(true));
            if (pool != null) {
                pool.close();
            }
            store.release(myImages, myBlobs);
            if (work != null) {
                try {
                    FileTrees.deleteRecursively(work);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot remove pull work directory {0}: {1}", work, e);
                }
            }
        }
    }

    /** The endpoints of one pull, the one that answered the manifest first. */
    private static final class Sources {
        final List<RegistryClient.Endpoint> ordered;
        final RegistryClient.Endpoint preferred;

        Sources(List<RegistryClient.Endpoint> all, RegistryClient.Endpoint preferred) {
            this.preferred = preferred;
            List<RegistryClient.Endpoint> o = new ArrayList<>();
            o.add(preferred);
            all.stream().filter(e -> !e.equals(preferred)).forEach(o::add);
            this.ordered = List.copyOf(o);
        }
    }

    @FunctionalInterface
    private interface EndpointCall<T> {
        T call(RegistryClient.Endpoint ep) throws ImageCacheException, IOException;
    }

    /** Tries the preferred endpoint, then the others; a mirror's failure moves on, the registry's is final. */
    private static <T> T onEndpoints(Sources sources, EndpointCall<T> call) throws ImageCacheException, IOException {
        ImageCacheException firstFailure = null;
        for (RegistryClient.Endpoint ep : sources.ordered) {
            try {
                return call.call(ep);
            } catch (ImageCacheException e) {
                if (e instanceof ImageStoreIoException) {
                    throw e;
                }
                if (!ep.mirror()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "{0}: {1}; trying the next endpoint", ep, e.getMessage());
                if (firstFailure == null) {
                    firstFailure = e;
                }
            }
        }
        throw firstFailure;
    }

    /** A manifest or index by digest: from the store if present, else from the registry (verified). */
    private byte[] document(Sources sources, ImageReference ref, PullContext ctx, Digest digest, Long size, String what)
            throws ImageCacheException, IOException {
        byte[] local = store.blobStore().readSmall(digest, Limits.MAX_JSON_BYTES);
        if (local != null) {
            return local;
        }
        return onEndpoints(sources, ep -> client.getManifest(ep, ref, ctx, digest.toString(), digest, size).bytes());
    }

    /** The config blob: from the store if present, else downloaded and verified. */
    private byte[] configBytes(Sources sources, ImageReference ref, PullContext ctx, Digest digest, long size,
                               String what) throws InvalidImageException, IOException {
        if (size > Limits.MAX_JSON_BYTES) {
            throw Json.tooBig(what, size);
        }
        byte[] local = store.blobStore().readSmall(digest, Limits.MAX_JSON_BYTES);
        if (local != null) {
            return local;
        }
        try {
            return onEndpoints(sources, ep -> {
                Path part = store.blobStore().newPart();
                try {
                    client.getBlob(ep, ref, ctx, digest, size, part, what);
                    return Files.readAllBytes(part);
                } finally {
                    Files.deleteIfExists(part);
                }
            });
        } catch (InvalidImageException e) {
            throw e;
        } catch (ImageCacheException e) {
            // CandidateBuilder's reader may only throw InvalidImageException/IOException: carry it out
            throw new Carrier(e);
        }
    }

    /** Carries a registry failure through the config reader's narrower signature. */
    private static final class Carrier extends IOException {
        final ImageCacheException failure;

        Carrier(ImageCacheException failure) {
            super(failure.getMessage(), failure);
            this.failure = failure;
        }
    }

    /**
     * Makes sure a layer blob is in the store: returns false if it already was (or a concurrent
     * pull brought it), true if this pull downloaded it. One download per blob at a time.
     */
    private boolean obtainBlob(Sources sources, ImageReference ref, PullContext ctx, Digest digest, long size,
                               String what, Semaphore slots) throws ImageCacheException, IOException, InterruptedException {
        BlobStore blobs = store.blobStore();
        while (true) {
            if (blobs.contains(digest)) {
                return false;
            }
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> other = blobFlights.putIfAbsent(digest, mine);
            if (other != null) {
                try {
                    other.get();
                } catch (ExecutionException e) {
                    // that download failed; try again (and maybe download it here)
                }
                continue;
            }
            try {
                if (blobs.contains(digest)) {
                    return false;
                }
                slots.acquire();
                try {
                    onEndpoints(sources, ep -> {
                        download(ep, ref, ctx, digest, size, what);
                        return null;
                    });
                } finally {
                    slots.release();
                }
                ctx.layersFetched.incrementAndGet();
                return true;
            } finally {
                blobFlights.remove(digest, mine);
                mine.complete(null);
            }
        }
    }

    private void download(RegistryClient.Endpoint ep, ImageReference ref, PullContext ctx, Digest digest, long size,
                          String what) throws ImageCacheException, IOException {
        BlobStore blobs = store.blobStore();
        for (int attempt = 1; ; attempt++) {
            Path part = blobs.newPart();
            try {
                client.getBlob(ep, ref, ctx, digest, size, part, what);
                blobs.adopt(part, digest);
                return;
            } catch (RegistryException e) {
                if (e.reason() != RegistryException.Reason.NETWORK || attempt >= BLOB_ATTEMPTS
                        || Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "{0}; retrying once", e.getMessage());
            } finally {
                Files.deleteIfExists(part);
            }
        }
    }

    private static void awaitDownload(Future<Boolean> f, PullContext ctx, Sources sources)
            throws ImageCacheException, IOException {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException(RegistryException.Reason.NETWORK, sources.preferred.authority(),
                    "pulling " + ctx.reference + " was interrupted");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Carrier c) {
                throw c.failure;
            }
            if (cause instanceof ImageCacheException ice) {
                throw ice;
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof InterruptedException) {
                throw new RegistryException(RegistryException.Reason.NETWORK, sources.preferred.authority(),
                        "pulling " + ctx.reference + " was interrupted");
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(cause);
        }
    }

    // ---- documents ------------------------------------------------------------------------------

    private static JsonNode probe(byte[] doc, Digest digest, ImageReference ref) throws InvalidImageException {
        JsonNode n = Json.parse(doc, JsonNode.class, "manifest " + digest + " of " + ref);
        if (!n.isObject()) {
            throw new InvalidImageException("manifest " + digest + " of " + ref + " is not a JSON object");
        }
        return n;
    }

    private static boolean isSchema1(JsonNode n, String mediaType) {
        return (mediaType != null && MediaTypes.SCHEMA1_MANIFESTS.contains(mediaType))
                || (n.path("schemaVersion").asInt(0) == 1);
    }

    private static boolean isIndex(JsonNode n, String mediaType) {
        if (mediaType != null && MediaTypes.INDEXES.contains(mediaType)) {
            return true;
        }
        if (mediaType != null && MediaTypes.MANIFESTS.contains(mediaType)) {
            return false;
        }
        return n.has("manifests") && !n.has("config");
    }

    /** The index entry for the configured platform; attestation manifests are never chosen. */
    private Oci.Descriptor choose(Oci.Index index, Digest indexDigest, ImageReference ref) throws ImageNotFoundException {
        List<Oci.Descriptor> entries = index.manifests() == null ? List.of() : index.manifests();
        if (entries.size() > Limits.MAX_INDEX_ENTRIES) {
            throw new ImageNotFoundException(ref.normalized(), "index " + indexDigest + " of " + ref + " lists "
                    + entries.size() + " manifests, more than the " + Limits.MAX_INDEX_ENTRIES + " allowed");
        }
        List<String> available = new ArrayList<>();
        Oci.Descriptor withoutPlatform = null;
        for (Oci.Descriptor d : entries) {
            boolean image = MediaTypes.MANIFESTS.contains(d.mediaType()) || MediaTypes.INDEXES.contains(d.mediaType());
            if (!image || d.annotation(ATTESTATION_TYPE) != null) {
                continue;
            }
            if (d.platform() == null) {
                if (withoutPlatform == null) {
                    withoutPlatform = d;
                }
                continue;
            }
            available.add(d.platform().toString());
            if (config.platform().matches(d.platform())) {
                return d;
            }
        }
        if (withoutPlatform != null) {
            return withoutPlatform;
        }
        throw new ImageNotFoundException(ref.normalized(), ref + " has no image for platform " + config.platform()
                + " (index " + indexDigest + " offers " + available + "); set images.platform to pull another one");
    }

    @Override
    public void close() {
        client.close();
    }
}
