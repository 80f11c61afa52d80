# bench/bound_bench.mk -- builds bench/bound_bench with the build tree's own
# flags and libraries: make -f Makefile -f bench/bound_bench.mk bench/bound_bench
# (bench/bound_bench.sh does that).  Not in Makefile.am yet.
bench/bound_bench: $(srcdir)/bench/bound_bench.c libsl_sandbox.a libsl_job.a libsl_keys.a libsl_common.a
	$(CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS) -o $@ \
	    $(srcdir)/bench/bound_bench.c libsl_sandbox.a libsl_job.a $(KEYS_LIBS) $(LMDB_LIBS) \
	    $(JANSSON_LIBS) $(SECCOMP_LIBS) -lm
