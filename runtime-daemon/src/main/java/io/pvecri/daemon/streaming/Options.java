package io.pvecri.daemon.streaming;

/** Which streams a remote command session carries (from the CRI request). */
record Options(boolean stdin, boolean stdout, boolean stderr, boolean tty) {}
