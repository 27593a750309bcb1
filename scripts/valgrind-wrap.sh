#!/bin/bash
# meson test --wrap target: memcheck with errors and definite leaks fatal.
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --track-fds=no "$@"
