package io.pvecri.image;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** Reads and validates one image manifest and its config from an import source. */
final class CandidateBuilder {

    private final ImportSource source;
    private final String description;
    private final Predicate<Digest> inStore;

    CandidateBuilder(ImportSource source, Predicate<Digest> inStore) {
        this.source = source;
        this.description = null;
        this.inStore = inStore;
    }

    /**
     * A builder for manifests that do not come from an import source (registry pulls): only
     * {@link #fromManifest} may be used, and layers are fetched by the caller.
     *
     * @param description where the manifest comes from, for messages
     */
    CandidateBuilder(String description) {
        this.source = null;
        this.description = description;
        this.inStore = d -> true;
    }

    private String describe() {
        return source != null ? source.describe() : description;
    }

    ImportSource source() {
        return source;
    }

    static String blobPath(Digest d) {
        return "blobs/sha256/" + d.hex();
    }

    /** Reads a JSON blob of the layout by descriptor, bounded and verified. */
    byte[] readJsonBlob(Digest digest, long size, String what) throws InvalidImageException, IOException {
        if (size < 0 || size > Limits.MAX_JSON_BYTES) {
            throw Json.tooBig(what, size);
        }
        SourceFile f = source.find(blobPath(digest)).orElseThrow(() -> new InvalidImageException(
                what + " is missing: no " + blobPath(digest) + " in " + source.describe()));
        return BlobStore.readVerified(f.path(), digest, size, what + " (" + f.name() + " in " + source.describe() + ")");
    }

    /** Builds a candidate from a manifest blob of the layout. */
    ImageCandidate fromManifestBlob(Digest manifestDigest, long size, Digest pinDigest,
                                    List<ImageCandidate.MetaBlob> parents, List<ImageCandidate.ImageName> names)
            throws InvalidImageException, IOException {
        String what = "manifest " + manifestDigest;
        byte[] bytes = readJsonBlob(manifestDigest, size, what);
        Oci.Manifest m = Json.parse(bytes, Oci.Manifest.class, what + " in " + source.describe());
        List<ImageCandidate.MetaBlob> meta = new ArrayList<>(parents);
        meta.add(new ImageCandidate.MetaBlob(manifestDigest, bytes));
        return fromManifest(m, what, pinDigest, meta, names, this::readJsonBlob, layer -> {
            Digest d = Digest.parse(layer.digest(), what + " layer");
            return source.find(blobPath(d));
        });
    }

    @FunctionalInterface
    interface ConfigReader {
        byte[] read(Digest digest, long size, String what) throws InvalidImageException, IOException;
    }

    @FunctionalInterface
    interface LayerLocator {
        Optional<SourceFile> locate(Oci.Descriptor layer) throws InvalidImageException, IOException;
    }

    /** Validates a manifest, reads its config and locates its layers. */
    ImageCandidate fromManifest(Oci.Manifest m, String what, Digest pinDigest, List<ImageCandidate.MetaBlob> meta,
                                List<ImageCandidate.ImageName> names, ConfigReader configReader,
                                LayerLocator locator)
            throws InvalidImageException, IOException {
        String where = what + " in " + describe();
        if (m.schemaVersion() == null || m.schemaVersion() != 2) {
            throw new InvalidImageException(where + ": schemaVersion must be 2, got " + m.schemaVersion());
        }
        if (m.mediaType() != null && !MediaTypes.MANIFESTS.contains(m.mediaType())) {
            throw new InvalidImageException(where + ": unsupported manifest media type " + m.mediaType());
        }
        Oci.Descriptor cd = m.config();
        if (cd == null) {
            throw new InvalidImageException(where + ": has no config descriptor");
        }
        if (!MediaTypes.CONFIGS.contains(cd.mediaType())) {
            throw new InvalidImageException(where + ": config media type " + cd.mediaType()
                    + " is not a container image config (is this an OCI artifact rather than an image?)");
        }
        List<Oci.Descriptor> layers = m.layers() == null ? List.of() : m.layers();
        if (layers.size() > Limits.MAX_LAYERS) {
            throw new InvalidImageException(where + ": has " + layers.size() + " layers, more than the "
                    + Limits.MAX_LAYERS + " allowed");
        }
        Digest configDigest = Digest.parse(cd.digest(), where + " config");
        long configSize = requireSize(cd, where + " config");
        String configWhat = "config " + configDigest + " of " + what;
        byte[] configBytes = configReader.read(configDigest, configSize, configWhat);
        Oci.ConfigFile config = Json.parse(configBytes, Oci.ConfigFile.class, configWhat + " in " + describe());
        List<Digest> diffIds = diffIds(config, layers.size(), configWhat);

        List<ImageCandidate.LayerRef> refs = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            Oci.Descriptor ld = layers.get(i);
            String layerWhat = "layer " + (i + 1) + "/" + layers.size() + " of " + where;
            if (!MediaTypes.LAYERS.contains(ld.mediaType())) {
                throw new InvalidImageException(layerWhat + " has unsupported media type " + ld.mediaType());
            }
            Digest ldg = Digest.parse(ld.digest(), layerWhat);
            long lsize = requireSize(ld, layerWhat);
            Optional<SourceFile> file = locator.locate(ld);
            if (file.isEmpty() && !inStore.test(ldg)) {
                String hint = ld.urls() != null && !ld.urls().isEmpty()
                        ? " (a foreign/non-distributable layer; fetch it from " + ld.urls() + " and add it to the archive)" : "";
                throw new InvalidImageException(layerWhat + ": blob " + ldg + " is not in the archive" + hint);
            }
            refs.add(new ImageCandidate.LayerRef(ldg, lsize, ld.mediaType(), file, diffIds.get(i)));
        }
        List<ImageCandidate.MetaBlob> allMeta = new ArrayList<>(meta);
        allMeta.add(new ImageCandidate.MetaBlob(configDigest, configBytes));
        return new ImageCandidate(configDigest, pinDigest, allMeta, config, configSize, refs, names);
    }

    static long requireSize(Oci.Descriptor d, String what) throws InvalidImageException {
        if (d.size() == null || d.size() < 0) {
            throw new InvalidImageException(what + ": descriptor has no valid size");
        }
        return d.size();
    }

    static List<Digest> diffIds(Oci.ConfigFile config, int layerCount, String what) throws InvalidImageException {
        if (config.rootfs() == null || !"layers".equals(config.rootfs().type())) {
            throw new InvalidImageException(what + ": rootfs.type must be \"layers\"");
        }
        List<String> ids = config.rootfs().diffIds() == null ? List.of() : config.rootfs().diffIds();
        if (ids.size() != layerCount) {
            throw new InvalidImageException(what + ": rootfs.diff_ids lists " + ids.size()
                    + " layers but the manifest has " + layerCount);
        }
        List<Digest> out = new ArrayList<>();
        for (String s : ids) {
            out.add(Digest.parse(s, what + " rootfs.diff_ids"));
        }
        return out;
    }

    /** Reads a small file of the source (oci-layout, index.json, manifest.json), bounded. */
    static byte[] readSmall(SourceFile f, String what) throws InvalidImageException, IOException {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(f.path())) {
            byte[] bytes = in.readNBytes((int) Limits.MAX_JSON_BYTES + 1);
            if (bytes.length > Limits.MAX_JSON_BYTES) {
                throw Json.tooBig(what, f.size());
            }
            return bytes;
        }
    }
}
