/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared by the corpus runner and the bench: list and read corpus files. */
#ifndef BP_CORPUS_UTIL_H
#define BP_CORPUS_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct corpus_list {
    char **paths;
    size_t n, alloc;
};

static int corpus_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends every *.eml under dir (recursively) to l. */
static void corpus_scan(const char *dir, struct corpus_list *l)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t need = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(need);
        snprintf(p, need, "%s/%s", dir, e->d_name);
        struct stat st;
        size_t nl = strlen(e->d_name);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            corpus_scan(p, l);
            free(p);
        } else if (nl > 4 && strcmp(e->d_name + nl - 4, ".eml") == 0) {
            if (l->n == l->alloc) {
                l->alloc = l->alloc ? l->alloc * 2 : 64;
                l->paths = realloc(l->paths, l->alloc * sizeof *l->paths);
            }
            l->paths[l->n++] = p;
        } else {
            free(p);
        }
    }
    closedir(d);
    qsort(l->paths, l->n, sizeof *l->paths, corpus_cmp);
}

/* Whole file, NUL-terminated; NULL when missing. */
static char *corpus_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    size_t got = fread(buf, 1, (size_t)sz, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

#endif
