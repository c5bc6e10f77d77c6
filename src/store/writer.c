/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* PLACEHOLDER: being written; see the module owner. */
