/* Datasets: folder scan of ../shared/data/digits-500 (500 files, classes
 * "0".."9" of 50), a built tree with named classes, list files, union, random
 * and stratified split. The split's generator is checked against SplitMix64's
 * published output (Vigna's splitmix64.c, seed 1234567). */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dlp/dlp.h"

static char tmp_dir[4096];

static const char *scratch(const char *name)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void make_file(const char *relative)
{
    FILE *file = fopen(scratch(relative), "wb");
    if (file) {
        fputs("not an image", file);
        fclose(file);
    } else {
        fprintf(stderr, "cannot create %s: %s\n", scratch(relative), strerror(errno));
    }
}

static void make_folder(const char *relative) { mkdir(scratch(relative), 0777); }

static void write_text(const char *relative, const char *text)
{
    FILE *file = fopen(scratch(relative), "wb");
    fputs(text, file);
    fclose(file);
}

/* The reference generator, written from Vigna's splitmix64.c (next(): x +=
 * 0x9e37..; mix), and checked against its published first output below. */
static uint64_t reference_splitmix64(uint64_t x)
{
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static long find_origin(const dlp_dataset *dataset, const char *origin)
{
    for (size_t i = 0; i < dlp_dataset_size(dataset); i++) {
        dlp_row row;
        dlp_dataset_row(dataset, i, &row);
        if (strcmp(row.origin, origin) == 0) return (long)i;
    }
    return -1;
}

/* Every row of dataset is in exactly one split, with its label; returns the split of each row. */
static int check_partition(const dlp_dataset *dataset, dlp_dataset **splits, int count, int *which)
{
    size_t total = 0;
    for (int j = 0; j < count; j++) total += dlp_dataset_size(splits[j]);
    if (total != dlp_dataset_size(dataset)) return 0;
    for (size_t i = 0; i < dlp_dataset_size(dataset); i++) which[i] = -1;
    for (int j = 0; j < count; j++)
        for (size_t k = 0; k < dlp_dataset_size(splits[j]); k++) {
            dlp_row row, original;
            dlp_dataset_row(splits[j], k, &row);
            long i = find_origin(dataset, row.origin);
            if (i < 0 || which[i] != -1) return 0;
            dlp_dataset_row(dataset, (size_t)i, &original);
            if (original.label != row.label) return 0;
            which[i] = j;
        }
    return 1;
}

static void test_generator(void)
{
    CHECK(reference_splitmix64(1234567) == UINT64_C(6457827717110365317));
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t bits = reference_splitmix64(42 ^ reference_splitmix64(i)) >> 11;
        CHECK(dlp_dataset_split_draw(42, i) == (double)bits / 9007199254740992.0);
    }
}

static void test_digits(const char *shared)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/data/digits-500", shared);
    struct stat info;
    if (stat(root, &info) != 0) {
        printf("digits-500 not found at %s: its checks skipped\n", root);
        return;
    }
    dlp_dataset *digits = NULL;
    CHECK_OK(dlp_dataset_create(&digits));
    CHECK_OK(dlp_dataset_scan_directory(digits, root));
    CHECK(dlp_dataset_size(digits) == 500);
    CHECK(dlp_dataset_label_count(digits) == 10);
    int per_class[10] = {0};
    const char *previous = "";
    for (size_t i = 0; i < dlp_dataset_size(digits); i++) {
        dlp_row row;
        CHECK_OK(dlp_dataset_row(digits, i, &row));
        CHECK(row.label >= 0 && row.label <= 9 && row.status == DLP_OK && *row.message == 0);
        if (row.label < 0 || row.label > 9) continue;
        per_class[row.label]++;
        char folder[64];
        snprintf(folder, sizeof folder, "/%d/", (int)row.label); /* the label is the folder's number */
        CHECK(strncmp(row.origin, root, strlen(root)) == 0 && strstr(row.origin + strlen(root), folder) != NULL);
        CHECK(strcmp(previous, row.origin) < 0);
        previous = row.origin;
    }
    for (int c = 0; c < 10; c++) {
        CHECK(per_class[c] == 50);
        char name[4] = {(char)('0' + c), 0};
        CHECK(dlp_dataset_label_name(digits, c) && strcmp(dlp_dataset_label_name(digits, c), name) == 0);
    }
    CHECK(dlp_dataset_label_name(digits, 10) == NULL);

    /* Random split: reproducible, a partition, sizes near 0.8/0.2 (5 binomial sd: 8.9 rows). */
    double weights[2] = {0.8, 0.2};
    dlp_dataset *first[2] = {NULL, NULL}, *again[2] = {NULL, NULL}, *other[2] = {NULL, NULL};
    CHECK_OK(dlp_dataset_split(digits, weights, 2, 42, 0, first));
    CHECK_OK(dlp_dataset_split(digits, weights, 2, 42, 0, again));
    CHECK_OK(dlp_dataset_split(digits, weights, 2, 43, 0, other));
    int which[500], which_again[500], which_other[500];
    CHECK(check_partition(digits, first, 2, which));
    CHECK(check_partition(digits, again, 2, which_again));
    CHECK(check_partition(digits, other, 2, which_other));
    CHECK(memcmp(which, which_again, sizeof which) == 0);
    CHECK(memcmp(which, which_other, sizeof which) != 0);
    long n0 = (long)dlp_dataset_size(first[0]);
    CHECK(n0 >= 400 - 45 && n0 <= 400 + 45);
    CHECK(dlp_dataset_label_count(first[1]) == 10 && strcmp(dlp_dataset_label_name(first[1], 7), "7") == 0);
    /* Each row's split follows from its documented draw u_i = splitmix64(seed ^ splitmix64(i)) >> 11 * 2^-53. */
    int by_formula = 1;
    for (uint64_t i = 0; i < 500; i++) {
        double u = (double)(reference_splitmix64(42 ^ reference_splitmix64(i)) >> 11) / 9007199254740992.0;
        by_formula &= which[i] == (u < 0.8 ? 0 : 1);
    }
    CHECK(by_formula);
    for (int j = 0; j < 2; j++) {
        dlp_dataset_destroy(first[j]);
        dlp_dataset_destroy(again[j]);
        dlp_dataset_destroy(other[j]);
    }

    /* Stratified: exactly 40/10 of every class. */
    dlp_dataset *strata[2] = {NULL, NULL};
    CHECK_OK(dlp_dataset_split(digits, weights, 2, 42, 1, strata));
    CHECK(check_partition(digits, strata, 2, which));
    for (int j = 0; j < 2; j++) {
        int counts[10] = {0};
        for (size_t k = 0; k < dlp_dataset_size(strata[j]); k++) {
            dlp_row row;
            dlp_dataset_row(strata[j], k, &row);
            if (row.label >= 0 && row.label < 10) counts[row.label]++;
        }
        for (int c = 0; c < 10; c++) CHECK(counts[c] == (j == 0 ? 40 : 10));
        dlp_dataset_destroy(strata[j]);
    }
    /* Three-way stratified 1:1:1 of 50: 17/17/16 (largest remainder, ties to the first). */
    double thirds[3] = {1, 1, 1};
    dlp_dataset *three[3] = {NULL, NULL, NULL};
    CHECK_OK(dlp_dataset_split(digits, thirds, 3, 7, 1, three));
    CHECK(dlp_dataset_size(three[0]) == 170 && dlp_dataset_size(three[1]) == 170 && dlp_dataset_size(three[2]) == 160);
    for (int j = 0; j < 3; j++) dlp_dataset_destroy(three[j]);

    /* Union with itself: labels kept. */
    dlp_dataset *twice = NULL;
    CHECK_OK(dlp_dataset_union(digits, digits, &twice));
    CHECK(dlp_dataset_size(twice) == 1000 && dlp_dataset_label_count(twice) == 10);
    dlp_row row;
    CHECK_OK(dlp_dataset_row(twice, 777, &row));
    CHECK(row.label == 5); /* row 277 of the sorted scan: folder 5 holds rows 250..299 */
    dlp_dataset_destroy(twice);
    dlp_dataset_destroy(digits);
}

static void test_named_tree(void)
{
    /* tree/{Mango,apple,empty,zebra} + hidden things + a loose file + a loop + a dangling link */
    make_folder("tree");
    make_folder("tree/zebra");
    make_folder("tree/apple");
    make_folder("tree/apple/sub");
    make_folder("tree/Mango");
    make_folder("tree/empty");
    make_folder("tree/.hidden");
    make_file("tree/zebra/z1.png");
    make_file("tree/zebra/z0.png");
    make_file("tree/apple/a.png");
    make_file("tree/apple/sub/deep.png");
    make_file("tree/apple/.DS_Store");
    make_file("tree/Mango/m.jpg");
    make_file("tree/.hidden/h.png");
    make_file("tree/loose.png");
    unlink(scratch("tree/apple/sub/loop"));
    unlink(scratch("tree/zebra/broken.png"));
    CHECK(symlink("..", scratch("tree/apple/sub/loop")) == 0);
    CHECK(symlink("nowhere.png", scratch("tree/zebra/broken.png")) == 0);

    dlp_dataset *tree = NULL;
    CHECK_OK(dlp_dataset_create(&tree));
    CHECK_OK(dlp_dataset_scan_directory(tree, scratch("tree")));
    /* Bytewise: "Mango" < "apple" < "empty" < "zebra". */
    static const char *const names[] = {"Mango", "apple", "empty", "zebra"};
    CHECK(dlp_dataset_label_count(tree) == 4);
    for (int c = 0; c < 4; c++)
        CHECK(dlp_dataset_label_name(tree, c) && strcmp(dlp_dataset_label_name(tree, c), names[c]) == 0);
    static const struct {
        const char *path;
        int64_t label;
        int failed;
    } want[] = {{"tree/Mango/m.jpg", 0, 0},        {"tree/apple/a.png", 1, 0},   {"tree/apple/sub/deep.png", 1, 0},
                {"tree/loose.png", -1, 0},         {"tree/zebra/broken.png", 3, 1}, {"tree/zebra/z0.png", 3, 0},
                {"tree/zebra/z1.png", 3, 0}};
    CHECK(dlp_dataset_size(tree) == sizeof want / sizeof *want);
    for (size_t i = 0; i < dlp_dataset_size(tree) && i < sizeof want / sizeof *want; i++) {
        dlp_row row;
        dlp_dataset_row(tree, i, &row);
        CHECK(strcmp(row.origin, scratch(want[i].path)) == 0);
        CHECK(row.label == want[i].label);
        CHECK((row.status != DLP_OK) == want[i].failed);
        if (want[i].failed) CHECK(row.status == DLP_ERR_IO && strstr(row.message, "broken.png"));
    }
    CHECK(dlp_dataset_error_count(tree) == 1);

    /* A split keeps names and errors; a failed row keeps its first error. */
    double weights[2] = {1, 1};
    dlp_dataset *halves[2] = {NULL, NULL};
    CHECK_OK(dlp_dataset_split(tree, weights, 2, 1, 0, halves));
    CHECK(dlp_dataset_error_count(halves[0]) + dlp_dataset_error_count(halves[1]) == 1);
    CHECK(strcmp(dlp_dataset_label_name(halves[1], 0), "Mango") == 0);
    dlp_dataset_destroy(halves[0]);
    dlp_dataset_destroy(halves[1]);
    CHECK_OK(dlp_dataset_set_error(tree, 4, DLP_ERR_FORMAT, "later error"));
    dlp_row row;
    dlp_dataset_row(tree, 4, &row);
    CHECK(row.status == DLP_ERR_IO && !strstr(row.message, "later"));
    CHECK_OK(dlp_dataset_set_error(tree, 0, DLP_ERR_FORMAT, "not a JPEG"));
    dlp_dataset_row(tree, 0, &row);
    CHECK(row.status == DLP_ERR_FORMAT && strcmp(row.message, "not a JPEG") == 0);
    CHECK_FAILS(dlp_dataset_set_error(tree, 0, DLP_OK, ""), DLP_ERR_INVALID_ARGUMENT, "error");
    CHECK_FAILS(dlp_dataset_set_error(tree, 99, DLP_ERR_IO, ""), DLP_ERR_INVALID_ARGUMENT, "99");

    /* Subset */
    size_t picks[3] = {6, 0, 6};
    dlp_dataset *subset = NULL;
    CHECK_OK(dlp_dataset_subset(tree, picks, 3, &subset));
    CHECK(dlp_dataset_size(subset) == 3);
    dlp_dataset_row(subset, 1, &row);
    CHECK(row.status == DLP_ERR_FORMAT && strcmp(row.origin, scratch("tree/Mango/m.jpg")) == 0);
    dlp_dataset_destroy(subset);
    picks[1] = 7;
    CHECK_FAILS(dlp_dataset_subset(tree, picks, 3, &subset), DLP_ERR_INVALID_ARGUMENT, "7");

    /* Bad weights */
    dlp_dataset *out[2];
    double bad[4][2] = {{1, 0}, {1, -1}, {1, NAN}, {1, INFINITY}};
    for (int k = 0; k < 4; k++) CHECK_FAILS(dlp_dataset_split(tree, bad[k], 2, 1, 0, out), DLP_ERR_INVALID_ARGUMENT, "weight");

    /* Scan errors, and integer spellings that clash. */
    CHECK_FAILS(dlp_dataset_scan_directory(tree, scratch("no-such-tree")), DLP_ERR_IO, "no-such-tree");
    CHECK_FAILS(dlp_dataset_scan_directory(tree, scratch("tree/loose.png")), DLP_ERR_IO, "loose.png: not a directory");
    CHECK(dlp_dataset_size(tree) == 7); /* unchanged by the failures */
    make_folder("clash");
    make_folder("clash/7");
    make_folder("clash/07");
    dlp_dataset *clash = NULL;
    CHECK_OK(dlp_dataset_create(&clash));
    CHECK_FAILS(dlp_dataset_scan_directory(clash, scratch("clash")), DLP_ERR_DATA, "\"07\" and \"7\"");
    dlp_dataset_destroy(clash);

    /* Lists: relative paths, names, comments, quoting; names get the scan rule. */
    make_folder("lists");
    write_text("lists/list.txt", "\xEF\xBB\xBF# a comment\n"
                                 "\n"
                                 "fruit/a.png,cat\r\n"
                                 "  sub/b.png , dog \n"
                                 "/abs/c.png\n"
                                 "\"x,y \"\"q\"\".png\",cat\n"
                                 "   # indented comment\n"
                                 "d.png,3\n");
    dlp_dataset *list = NULL;
    CHECK_OK(dlp_dataset_create(&list));
    CHECK_OK(dlp_dataset_read_list(list, scratch("lists/list.txt")));
    CHECK(dlp_dataset_size(list) == 5);
    static const struct {
        const char *path;
        int64_t label;
    } listed[] = {{"lists/fruit/a.png", 1}, {"lists/sub/b.png", 2}, {"/abs/c.png", -1},
                  {"lists/x,y \"q\".png", 1}, {"lists/d.png", 0}};
    for (size_t i = 0; i < dlp_dataset_size(list) && i < 5; i++) {
        dlp_dataset_row(list, i, &row);
        CHECK(strcmp(row.origin, listed[i].path[0] == '/' ? listed[i].path : scratch(listed[i].path)) == 0);
        CHECK(row.label == listed[i].label);
    }
    CHECK(strcmp(dlp_dataset_label_name(list, 0), "3") == 0 && strcmp(dlp_dataset_label_name(list, 2), "dog") == 0);

    /* Integer labels in a list are the labels. */
    write_text("lists/numbers.txt", "p.png,5\nq.png,0\nr.png\n");
    dlp_dataset *numbers = NULL;
    CHECK_OK(dlp_dataset_create(&numbers));
    CHECK_OK(dlp_dataset_read_list(numbers, scratch("lists/numbers.txt")));
    CHECK(dlp_dataset_label_count(numbers) == 6);
    dlp_dataset_row(numbers, 0, &row);
    CHECK(row.label == 5);
    dlp_dataset_row(numbers, 2, &row);
    CHECK(row.label == -1);

    /* Malformed lines name the file and line. */
    static const struct {
        const char *text, *needle;
    } malformed[] = {{"ok.png\nok2.png,a\na.png,cat,extra\n", "bad.txt:3"},
                     {"# c\n\"unterminated.png,cat\n", "bad.txt:2"},
                     {",cat\n", "bad.txt:1"},
                     {"a.png,\n", "bad.txt:1"},
                     {"a\"b.png\n", "bad.txt:1"},
                     {"\"a.png\" x,cat\n", "bad.txt:1"}};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        write_text("lists/bad.txt", malformed[i].text);
        CHECK_FAILS(dlp_dataset_read_list(numbers, scratch("lists/bad.txt")), DLP_ERR_DATA, malformed[i].needle);
    }
    CHECK(dlp_dataset_size(numbers) == 3);
    CHECK_FAILS(dlp_dataset_read_list(numbers, scratch("lists/absent.txt")), DLP_ERR_IO, "absent.txt");

    /* Union: names reconciled by the scan rule over the merged names. */
    write_text("lists/more.txt", "n1.png,banana\nn2.png,apple\n");
    dlp_dataset *more = NULL, *merged = NULL;
    CHECK_OK(dlp_dataset_create(&more));
    CHECK_OK(dlp_dataset_read_list(more, scratch("lists/more.txt")));
    CHECK_OK(dlp_dataset_union(tree, more, &merged));
    /* Merged names: Mango apple banana empty zebra -> 0..4 */
    CHECK(dlp_dataset_size(merged) == 9 && dlp_dataset_label_count(merged) == 5);
    static const char *const merged_names[] = {"Mango", "apple", "banana", "empty", "zebra"};
    for (int c = 0; c < 5; c++)
        CHECK(dlp_dataset_label_name(merged, c) && strcmp(dlp_dataset_label_name(merged, c), merged_names[c]) == 0);
    for (size_t i = 0; i < dlp_dataset_size(merged); i++) {
        dlp_row source, got;
        dlp_dataset_row(merged, i, &got);
        const dlp_dataset *from = i < 7 ? tree : more;
        dlp_dataset_row(from, i < 7 ? i : i - 7, &source);
        CHECK(strcmp(got.origin, source.origin) == 0 && got.status == source.status);
        if (source.label < 0) CHECK(got.label == -1);
        else CHECK(strcmp(dlp_dataset_label_name(merged, got.label), dlp_dataset_label_name(from, source.label)) == 0);
    }
    /* Reading a list into a non-empty dataset is the same union. */
    CHECK_OK(dlp_dataset_read_list(tree, scratch("lists/more.txt")));
    CHECK(dlp_dataset_size(tree) == 9 && strcmp(dlp_dataset_label_name(tree, 2), "banana") == 0);
    dlp_dataset_destroy(merged);

    /* Conflicts: "7" vs "07" for label 7; labelled rows without names against named ones. */
    dlp_dataset *seven = NULL, *oh_seven = NULL, *unnamed = NULL;
    CHECK_OK(dlp_dataset_create(&seven));
    CHECK_OK(dlp_dataset_create(&oh_seven));
    CHECK_OK(dlp_dataset_create(&unnamed));
    CHECK_OK(dlp_dataset_add(seven, "s.png", 7));
    CHECK_OK(dlp_dataset_set_label_name(seven, 7, "7"));
    CHECK_OK(dlp_dataset_add(oh_seven, "o.png", 7));
    CHECK_OK(dlp_dataset_set_label_name(oh_seven, 7, "07"));
    CHECK_OK(dlp_dataset_add(unnamed, "u.png", 2));
    CHECK_FAILS(dlp_dataset_union(seven, oh_seven, &merged), DLP_ERR_DATA, "\"07\"");
    CHECK_FAILS(dlp_dataset_union(more, unnamed, &merged), DLP_ERR_DATA, "u.png");
    CHECK_OK(dlp_dataset_union(seven, unnamed, &merged)); /* integer labels: kept */
    CHECK(dlp_dataset_label_count(merged) == 8 && dlp_dataset_label_name(merged, 2) == NULL);
    dlp_dataset_destroy(merged);
    CHECK_FAILS(dlp_dataset_set_label_name(seven, 3, "7"), DLP_ERR_DATA, "already used");
    CHECK_FAILS(dlp_dataset_add(seven, "x.png", -2), DLP_ERR_INVALID_ARGUMENT, "x.png");

    /* The manifest of a scanned tree reads back with the right rows count. */
    CHECK_OK(dlp_manifest_write_csv(scratch("tree.csv"), tree));
    FILE *csv = fopen(scratch("tree.csv"), "rb");
    int lines = 0;
    for (int c; csv && (c = fgetc(csv)) != EOF;) lines += c == '\n';
    if (csv) fclose(csv);
    CHECK(lines == 1 + 9);

    dlp_dataset_destroy(seven);
    dlp_dataset_destroy(oh_seven);
    dlp_dataset_destroy(unnamed);
    dlp_dataset_destroy(more);
    dlp_dataset_destroy(numbers);
    dlp_dataset_destroy(list);
    dlp_dataset_destroy(tree);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "%s/dataset", check_env("DLP_TEST_TMP"));
    mkdir(tmp_dir, 0777);
    test_generator();
    test_digits(check_env("DLP_SHARED_DIR"));
    test_named_tree();
    return check_summary("dataset");
}
