package io.pvecri.image;

import java.time.Duration;

/**
 * What a pull did.
 *
 * @param reference      the normalised reference pulled
 * @param image          the image's record after the pull (names included)
 * @param manifestDigest the digest the reference resolved to (index or manifest)
 * @param bytesFetched   bytes downloaded by this pull (manifests, config, layers)
 * @param layersFetched  layers this pull downloaded
 * @param layersReused   layers already in the store, or downloaded by a concurrent pull
 * @param cacheHit       the image was already in the store and no blob was downloaded
 * @param elapsed        wall time of the pull
 */
public record PullResult(String reference, ImageRecord image, String manifestDigest, long bytesFetched,
                         int layersFetched, int layersReused, boolean cacheHit, Duration elapsed) {
}
