# Prints every failing tap assertion with the test file and subtests it sits in and its
# YAML diagnostics (at most 20 failures, 30 lines each). scripts/test.sh runs it at the
# end so a CI log that keeps only its tail still names what failed.
diag > 0 { print; if (--diag == 0 || $0 ~ /^ *\.\.\.$/) diag = 0; next }
yaml { yaml = 0; if ($0 ~ /^ *---$/) { print; diag = 30; next } }
/^# Subtest: / { file = substr($0, 12) }
/^ *# Subtest: / { d = index($0, "#"); depth = (d - 1) / 4; name[depth] = substr($0, d + 11) }
/^ *not ok / {
  if (++shown > 20) { more++; next }
  d = match($0, /[^ ]/); depth = (d - 1) / 4; path = ""
  for (i = 1; i < depth; i++) path = path name[i] " > "
  print "--- " (depth ? file ": " : "") path substr($0, d)
  yaml = 1
}
END { if (more) print "(" more " more failing lines not repeated)" }
