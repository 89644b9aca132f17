// SPDX-License-Identifier: MIT
/* Drawing into 8-bit planes for mjpegd's own pictures (test pattern, "no signal"): filled
 * rectangles and text in a 5x7 bitmap font, clipped to the plane. Pure: any thread. */
#ifndef MJD_DRAW_H
#define MJD_DRAW_H

/* A glyph is 5 pixels wide and 7 high; text advances 6 pixels a character. */
#define MJD_FONT_ADVANCE 6
#define MJD_FONT_HEIGHT  7

/** Fills the w x h rectangle at (x, y) of a plane (pw x ph, rows stride bytes apart), clipped. */
void mjd_draw_rect(unsigned char *plane, unsigned stride, unsigned pw, unsigned ph, int x, int y,
                   int w, int h, unsigned char value);

/**
 * Draws text into an 8-bit plane (pw x ph, rows stride bytes apart) with its top left corner at
 * (x, y), each font pixel a scale x scale square of the given value, clipped to the plane.
 * Characters the font lacks (and the space) are left blank.
 */
void mjd_draw_text(unsigned char *plane, unsigned stride, unsigned pw, unsigned ph, int x, int y,
                   unsigned scale, const char *text, unsigned char value);

#endif
