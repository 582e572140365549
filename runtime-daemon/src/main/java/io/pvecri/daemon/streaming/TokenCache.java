package io.pvecri.daemon.streaming;

import io.pvecri.daemon.errors.CriException;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * The single-use tokens of streaming URLs, as kubelet's request cache: a token maps to the
 * request it was issued for, is consumed by the first connection that presents it, and expires
 * after a TTL. Tokens are 256 random bits (base64url), so they cannot be guessed.
 */
final class TokenCache {
    /** An issued request: what the URL was for and the validated request (with resolved ids). */
    record Entry(Kind kind, Object request, long expiresAtNanos) {}

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Duration ttl;
    private final int maxInFlight;
    private final LongSupplier clock;
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    TokenCache(Duration ttl, int maxInFlight, LongSupplier nanoClock) {
        this.ttl = ttl;
        this.maxInFlight = maxInFlight;
        this.clock = nanoClock;
    }

    TokenCache(Duration ttl, int maxInFlight) {
        this(ttl, maxInFlight, System::nanoTime);
    }

    /** Issues a token for {@code request}; ResourceExhausted when too many are outstanding. */
    synchronized String insert(Kind kind, Object request) {
        long now = clock.getAsLong();
        evictExpired(now);
        if (entries.size() >= maxInFlight) {
            throw new CriException.ResourceExhausted("too many streaming URLs issued and not yet used (" + maxInFlight
                    + "); they expire after " + ttl.toSeconds() + "s, retry then");
        }
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        entries.put(token, new Entry(kind, request, now + ttl.toNanos()));
        return token;
    }

    /** Takes the entry of {@code token}: empty if unknown, expired or already used. */
    synchronized Optional<Entry> consume(String token) {
        Entry e = entries.remove(token);
        if (e == null || clock.getAsLong() - e.expiresAtNanos() > 0) {
            return Optional.empty();
        }
        return Optional.of(e);
    }

    synchronized int size() {
        evictExpired(clock.getAsLong());
        return entries.size();
    }

    /** Entries are in insertion order, so expired ones are at the front. */
    private void evictExpired(long now) {
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            if (now - it.next().expiresAtNanos() > 0) {
                it.remove();
            } else {
                break;
            }
        }
    }
}
