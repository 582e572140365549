package io.pvecri.image;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One image found in an import source, validated but not yet stored.
 *
 * @param id        the config digest (the image id)
 * @param pinDigest the digest a {@code name@digest} reference pins: the top-level manifest or index
 * @param metadata  verified small blobs (indexes, manifest, config) to store as they are
 * @param names     names found in the source (annotations, RepoTags)
 */
record ImageCandidate(
        Digest id,
        Digest pinDigest,
        List<MetaBlob> metadata,
        Oci.ConfigFile config,
        long configSize,
        List<LayerRef> layers,
        List<ImageName> names) {

    ImageCandidate {
        metadata = List.copyOf(metadata);
        layers = List.copyOf(layers);
        names = List.copyOf(names);
    }

    /** A small verified JSON blob. */
    record MetaBlob(Digest digest, byte[] content) {
    }

    /**
     * A layer to ingest and unpack.
     *
     * @param source where to read it; empty when the store already holds the blob
     */
    record LayerRef(Digest digest, long size, String mediaType, Optional<SourceFile> source, Digest diffId) {
    }

    /** A name attached to an image in its source. */
    sealed interface ImageName {
        /** A complete reference such as {@code docker.io/library/busybox:1.36}. */
        record Full(ImageReference reference) implements ImageName {
        }

        /** Only a tag (OCI {@code org.opencontainers.image.ref.name} as written by skopeo or buildx). */
        record TagOnly(String tag) implements ImageName {
        }
    }

    long size() {
        return configSize + layers.stream().mapToLong(LayerRef::size).sum();
    }

    String platform() {
        StringBuilder sb = new StringBuilder();
        sb.append(config.os() == null ? "" : config.os()).append('/')
                .append(config.architecture() == null ? "" : config.architecture());
        if (config.variant() != null && !config.variant().isEmpty()) {
            sb.append('/').append(config.variant());
        }
        return sb.toString();
    }

    Set<Digest> blobs() {
        Set<Digest> out = new LinkedHashSet<>();
        metadata.forEach(m -> out.add(m.digest()));
        layers.forEach(l -> out.add(l.digest()));
        return out;
    }

    /** The same image listed twice (e.g. under two names): names and metadata are combined. */
    ImageCandidate mergedWith(ImageCandidate other) {
        List<MetaBlob> meta = new ArrayList<>(metadata);
        for (MetaBlob m : other.metadata) {
            if (meta.stream().noneMatch(x -> x.digest().equals(m.digest()))) {
                meta.add(m);
            }
        }
        List<ImageName> n = new ArrayList<>(names);
        other.names.stream().filter(x -> !n.contains(x)).forEach(n::add);
        return new ImageCandidate(id, pinDigest, meta, config, configSize, layers, n);
    }
}
