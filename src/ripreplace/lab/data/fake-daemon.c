/* Copyright 2026 ripreplace developers
 * SPDX-License-Identifier: Apache-2.0 */
/* A stand-in daemon for the lab's fake covered packages. It contains no vendor code: it logs its
 * start, sleeps until SIGTERM/SIGINT, logs its stop and exits 0. Installed under the path the real
 * product's daemon has, so /proc/PID/exe shows that path. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void say(const char *log, const char *what) {
    FILE *f;
    if (!log) return;
    f = fopen(log, "a");
    if (!f) return;
    fprintf(f, "%ld pid=%d %s\n", (long)time(NULL), (int)getpid(), what);
    fclose(f);
}

int main(int argc, char **argv) {
    const char *log = NULL;
    int i;
    for (i = 1; i < argc - 1; i++)
        if (strcmp(argv[i], "--log") == 0) log = argv[i + 1];
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, SIG_IGN);
    say(log, "started");
    while (!stop) pause();
    say(log, "stopped");
    return 0;
}
