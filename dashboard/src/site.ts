/** The site the dashboard opens on; `?site=` picks another once the park has company. */
export const DEFAULT_SITE = 'beibei'
