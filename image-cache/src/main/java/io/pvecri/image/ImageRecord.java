package io.pvecri.image;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * An image known to the store.
 *
 * @param id          {@code sha256:<64 hex>}, the digest of the image config
 * @param repoTags    normalised tags, e.g. {@code docker.io/library/busybox:latest}
 * @param repoDigests e.g. {@code docker.io/library/busybox@sha256:...} (manifest digest)
 * @param size        sum of the compressed layer sizes plus the config size
 * @param platform    e.g. {@code linux/amd64} or {@code linux/arm64/v8}
 * @param references  number of containers using the image
 */
public record ImageRecord(
        String id,
        List<String> repoTags,
        List<String> repoDigests,
        long size,
        ImageConfig config,
        String platform,
        int references,
        Instant lastUsed,
        Instant importedAt) {

    public ImageRecord {
        Objects.requireNonNull(id, "id");
        repoTags = repoTags == null ? List.of() : List.copyOf(repoTags);
        repoDigests = repoDigests == null ? List.of() : List.copyOf(repoDigests);
        config = config == null ? ImageConfig.empty() : config;
        platform = platform == null ? "" : platform;
        Objects.requireNonNull(lastUsed, "lastUsed");
        Objects.requireNonNull(importedAt, "importedAt");
    }

    /** The 64 hex characters of {@link #id()}. */
    public String hex() {
        return id.substring(id.indexOf(':') + 1);
    }
}
